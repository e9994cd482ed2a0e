-- Years, quarters and months that hold structures' data (never the baromètre's territories), newest first.
WITH months AS (
    SELECT DISTINCT date_trunc('month', o.period_end) AS m
    FROM observation o JOIN structure s ON s.code = o.structure_code AND NOT s.territorial
)
SELECT DISTINCT strftime(m, '%Y') AS window, 'annee' AS kind, year(m) AS y, 0 AS sub FROM months
UNION
SELECT DISTINCT strftime(m, '%Y') || '-T' || quarter(m), 'trimestre', year(m), quarter(m) FROM months
UNION
SELECT DISTINCT strftime(m, '%Y-%m'), 'mois', year(m), month(m) FROM months
ORDER BY y DESC, kind, sub DESC
