-- How many data rows the file has.
SELECT count(*) FROM cells
