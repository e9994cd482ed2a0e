-- One structure's network, to check a person's scope (no row: the structure does not exist, or is a territory).
SELECT network FROM structure WHERE code = $code AND NOT territorial
