-- One parsed period cell combination.
INSERT INTO period_map_in VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
