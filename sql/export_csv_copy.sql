-- Every CSV that DuckDB writes for the exports: fields already formatted and quoted in SQL, so the writer is
-- told not to quote; « ; », a line feed at each line's end (as every CSV of the product). COPY takes no
-- parameters: the query is built by the code, the target is the output path with its quotes doubled.
COPY ({query}) TO '{target}' (FORMAT csv, HEADER, DELIMITER ';', QUOTE '', ESCAPE '', COMPRESSION 'none')
