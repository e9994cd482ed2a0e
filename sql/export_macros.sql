-- The exports' cell rules inside DuckDB, as temporary macros. The formula codes are the code points of
-- indicators.text.FORMULA_PREFIXES, filled in by indicators.export.define_macros, never retyped here.
-- protect: neutralise a text a spreadsheet would run as a formula (null stays null).
CREATE OR REPLACE TEMP MACRO protect(x) AS
    CASE WHEN ascii(x) IN ({formula_codes}) THEN '''' || x ELSE x END;
-- fr_number: a number with a decimal comma, whole numbers without decimals (the canonical export).
CREATE OR REPLACE TEMP MACRO fr_number(x) AS
    CASE WHEN x IS NULL THEN NULL
         WHEN x = trunc(x) AND abs(x) < 1e15 THEN CAST(CAST(x AS BIGINT) AS VARCHAR)
         ELSE replace(CAST(x AS VARCHAR), '.', ',') END;
-- csv_protect / csv_cell: reports._text and the csv module's quoting (null as an empty field).
CREATE OR REPLACE TEMP MACRO csv_protect(x) AS
    CASE WHEN ascii(x) IN ({formula_codes}) THEN '''' || x ELSE coalesce(x, '') END;
CREATE OR REPLACE TEMP MACRO csv_cell(x) AS
    CASE WHEN contains(x, ';') OR contains(x, '"') OR contains(x, chr(10))
         THEN '"' || csv_protect(replace(x, '"', '""')) || '"' ELSE csv_protect(x) END;
-- csv_number: a double as Python writes it (DuckDB 2 and Python both give the shortest text that reads back
-- the same; checked on millions of values from 1e-320 to 1e17), whole numbers without decimals (exactly below
-- 1e38), with a decimal comma.
CREATE OR REPLACE TEMP MACRO csv_number(x) AS
    CASE WHEN x = trunc(x) AND abs(x) < 1e18 THEN CAST(CAST(x AS BIGINT) AS VARCHAR)
         WHEN x IS NULL OR isnan(x) THEN ''
         WHEN isinf(x) THEN CAST(x AS VARCHAR)
         WHEN x = trunc(x) AND abs(x) < 1e38 THEN CAST(CAST(x AS HUGEINT) AS VARCHAR)
         ELSE replace(CAST(x AS VARCHAR), '.', ',') END;
