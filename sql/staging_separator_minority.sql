-- The cells of one file column written with the less used decimal separator ({field}, {col}: from the code).
SELECT line, {col}, {field} FROM staged
WHERE {col} = ? AND contains({field}, ?)
ORDER BY line
