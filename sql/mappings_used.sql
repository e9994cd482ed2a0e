-- A remembered mapping applied to an import that landed: it moves up the list.
UPDATE column_mapping SET used_at = $now WHERE fingerprint = $fingerprint
