-- One structure's network, to check a person's scope (no row: the structure does not exist).
SELECT network FROM structure WHERE code = $code
