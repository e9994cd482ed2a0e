-- Put back what an import replaced and remove what it created (its own values are deleted before).
INSERT INTO observation
SELECT structure_code, indicator_code, period_start, period_end, value, numerator, denominator, sample_size,
       expected_value, import_id, source_sheet, source_line
FROM observation_history WHERE replaced_by = $import_id;
DELETE FROM observation_history WHERE replaced_by = $import_id;
DELETE FROM structure WHERE import_id = $import_id;
INSERT INTO structure (code, name, network, typologie, departement, region, parent_code, label_level,
                       label_awarded_on, import_id)
SELECT code, name, network, typologie, departement, region, parent_code, label_level, label_awarded_on, import_id
FROM structure_history WHERE replaced_by = $import_id;
DELETE FROM structure_history WHERE replaced_by = $import_id;
DELETE FROM extra_indicator WHERE import_id = $import_id;
