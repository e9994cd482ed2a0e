-- The network of each known structure among some codes (unknown codes and territories have no row).
SELECT code, network FROM structure WHERE list_contains($codes::VARCHAR[], code) AND NOT territorial
