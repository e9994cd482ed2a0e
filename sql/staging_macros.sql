-- The checker's cell rules inside the scratch DuckDB, as macros. The formula codes are the code points of
-- indicators.text.FORMULA_PREFIXES, filled in by indicators.staging, never retyped here.
-- num_val: the plain cast first (most cells), the cleaned one only where it fails: spaces, no-break spaces
-- (U+00A0, U+202F) and « % » carry no value in a French number. Non-finite results (« inf », « nan ») are
-- caught by the nombre_lisible check.
CREATE MACRO num_val(s) AS coalesce(
    TRY_CAST(replace(s, ',', '.') AS DOUBLE),
    TRY_CAST(replace(regexp_replace(s, '[ \t\x{00A0}\x{202F}%]', '', 'g'), ',', '.') AS DOUBLE));
-- unprotect: a text our own export shielded from spreadsheets (a quote before a formula prefix) comes back.
CREATE MACRO unprotect(x) AS CASE WHEN left(x, 1) = chr(39) AND ascii(substr(x, 2, 1)) IN ({formula_codes})
    THEN substr(x, 2) ELSE x END;
-- yes_no: the words a yes/no indicator is written with.
CREATE MACRO yes_no(s) AS CASE
    WHEN lower(trim(s)) IN ('oui', 'o', '1', 'vrai', 'true', 'yes', '1.0') THEN 1.0
    WHEN lower(trim(s)) IN ('non', 'n', '0', 'faux', 'false', 'no', '0.0') THEN 0.0 END;
