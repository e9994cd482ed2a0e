-- The comparison table is not needed once the rows are stored.
DROP TABLE incoming_compared
