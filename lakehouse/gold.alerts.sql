-- gold.alerts: one row per detected pattern occurrence (stateful detection over the live
-- transactions). Written by the stream's alert query.
CREATE TABLE IF NOT EXISTS gold.alerts (
  alert_id        STRING    NOT NULL COMMENT 'Id of the occurrence (key), deterministic: the same occurrence detected again has the same id',
  ticker          STRING    NOT NULL COMMENT 'Ticker symbol',
  pattern         STRING    NOT NULL COMMENT 'Code of the detected pattern',
  detected_at     TIMESTAMP NOT NULL COMMENT 'Processing time at which the stream detected it',
  event_time      TIMESTAMP NOT NULL COMMENT 'Event time of the transaction that completed the pattern',
  trade_date      DATE      NOT NULL COMMENT 'Trading day of event_time in the exchange timezone (partition column)',
  evidence        STRING    COMMENT 'Everything the detector saw, as a JSON object',
  baseline_volume DOUBLE    COMMENT 'Typed evidence: the volume the observation was compared with, when the pattern is about volume',
  observed_volume BIGINT    COMMENT 'Typed evidence: the volume observed, when the pattern is about volume',
  run_length      INT       COMMENT 'Typed evidence: length of the run of consecutive moves, when the pattern is a run'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Pattern occurrences detected by the stream'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per detected pattern occurrence (alert_id)'
)
