-- Whether a structure code is known (the command line's --structure is checked before any status).
SELECT count(*) FROM structure WHERE code = ?
