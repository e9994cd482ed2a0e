-- Every remembered column mapping: the importer applies one when a file with the same headers comes again.
SELECT fingerprint, mapping FROM column_mapping
