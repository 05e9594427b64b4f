-- ops.data_quality: one row per (trade_date, check_name): the latest result of a reconciliation
-- check of that day. Written by `stockstream finalize` (MERGE on trade_date, check_name).
CREATE TABLE IF NOT EXISTS ops.data_quality (
  trade_date DATE      NOT NULL COMMENT 'Trading day checked (key, partition column)',
  check_name STRING    NOT NULL COMMENT 'Name of the check (key), e.g. conservation, source_fidelity',
  status     STRING    NOT NULL COMMENT 'pass, fail or skipped (the check does not apply, e.g. no replay manifest)',
  expected   DOUBLE    COMMENT 'Value the check expected (a count or an amount)',
  observed   DOUBLE    COMMENT 'Value the check observed',
  detail     STRING    COMMENT 'Human-readable detail, e.g. the tickers that differ',
  checked_at TIMESTAMP NOT NULL COMMENT 'When the check first gave this result: a re-run with the same result leaves the row as it was'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Reconciliation results per trading day'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (trade_date, check_name)'
)
