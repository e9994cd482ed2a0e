-- The structures an observation file names, as it names them (created if unknown when stored).
SELECT unprotect(structure_code) AS code, unprotect(nullif(trim(any_value(structure_name)), '')) AS name,
       unprotect(nullif(trim(any_value(network)), '')) AS network,
       nullif(trim(any_value(typologie)), '') AS typologie
FROM typed
GROUP BY structure_code
