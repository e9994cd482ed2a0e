-- Live values in the canonical long layout, French formats, text cells protected against formulas.
-- $start / $end: the period (NULL for everything). The territories of the open data are left out: this layout
-- describes services, and a re-import would make them services; their own files bring them back.
SELECT protect(o.structure_code) AS code_structure,
       protect(s.name) AS nom_structure,
       protect(s.network) AS reseau,
       protect(o.indicator_code) AS code_indicateur,
       strftime(o.period_start, '%Y-%m-%d') AS debut_periode,
       strftime(o.period_end, '%Y-%m-%d') AS fin_periode,
       fr_number(o.value) AS valeur,
       fr_number(o.numerator) AS numerateur,
       fr_number(o.denominator) AS denominateur,
       fr_number(o.sample_size) AS effectif,
       fr_number(o.expected_value) AS valeur_attendue,
       protect(e.label) AS libelle_indicateur,
       protect(e.unit) AS unite
FROM observation o
LEFT JOIN structure s ON s.code = o.structure_code
LEFT JOIN extra_indicator e ON e.code = o.indicator_code
WHERE s.territorial IS NOT TRUE
  AND ($start::DATE IS NULL OR (o.period_start >= $start::DATE AND o.period_end <= $end::DATE))
ORDER BY o.structure_code, o.indicator_code, o.period_start, o.period_end
