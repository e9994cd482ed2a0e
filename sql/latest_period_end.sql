-- The end of the most recent period with data (anchors « the 12 months up to the latest data »).
SELECT max(period_end) FROM observation
