-- The list of changed structures is not needed once they are stored.
DROP TABLE changed
