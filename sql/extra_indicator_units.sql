-- Indicators created by earlier imports (outside the référentiel) and their units.
SELECT code, unit FROM extra_indicator
