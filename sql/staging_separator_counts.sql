-- Per file column of a number ({field} texts, {col} column index; both from the code): cells with a comma,
-- cells with a point. Both in one column is ambiguous in a text file.
SELECT {col}, count(*) FILTER (WHERE contains({field}, ',')), count(*) FILTER (WHERE contains({field}, '.'))
FROM staged
WHERE {col} IS NOT NULL
GROUP BY {col}
