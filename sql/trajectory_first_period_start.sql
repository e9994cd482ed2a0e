-- The start of the earliest period of one structure's data ($structure): its level history begins once it has
-- 12 months of data, so that no window judges it on part of a year.
SELECT min(period_start) FROM observation WHERE structure_code = $structure::VARCHAR
