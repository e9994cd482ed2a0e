-- One resolved indicator cell combination.
INSERT INTO indicator_map VALUES (?, ?, ?, ?, ?, ?, ?, ?)
