-- How many data rows a file has once empty rows are left out.
SELECT count(*) FROM cells
