-- The edited rules of one indicator of a new référentiel version.
UPDATE indicator SET required = $required, min_n = $min_n, min_n_provenance = $min_n_provenance
WHERE version = $version AND code = $code
