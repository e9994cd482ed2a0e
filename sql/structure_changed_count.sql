-- How many known structures the register changes.
SELECT count(*) FROM changed
