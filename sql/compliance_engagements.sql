-- The engagements of a référentiel version, in their order.
SELECT number, theme, label FROM engagement WHERE version = $version ORDER BY number
