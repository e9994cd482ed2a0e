-- How many structures the register lists.
SELECT count(*) FROM incoming
