-- silver.quarantine: one row per rejected Kafka record (raw value, coordinates, reason code).
-- Written by the stream's silver query (append, idempotent per batch). Duplicates are dropped,
-- not quarantined.
CREATE TABLE IF NOT EXISTS silver.quarantine (
  value           BINARY    COMMENT 'Kafka record value as received',
  key             STRING    COMMENT 'Kafka record key, UTF-8',
  topic           STRING    NOT NULL COMMENT 'Kafka topic',
  partition       INT       NOT NULL COMMENT 'Kafka partition',
  offset          BIGINT    NOT NULL COMMENT 'Kafka offset within the partition',
  kafka_timestamp TIMESTAMP COMMENT 'Kafka record timestamp',
  reason          STRING    NOT NULL COMMENT 'Reason code: unparseable_json, missing_field, wrong_type, non_positive_price, non_positive_volume, unknown_action, unknown_ticker, timestamp_out_of_range, unknown_schema_version or oversized_payload',
  detail          STRING    COMMENT 'Human-readable detail, e.g. the offending field and value',
  quarantined_at  TIMESTAMP NOT NULL COMMENT 'When the micro-batch that rejected the record started',
  quarantine_date DATE      NOT NULL COMMENT 'UTC date of quarantined_at (partition column)'
)
USING delta
PARTITIONED BY (quarantine_date)
COMMENT 'Kafka records rejected by silver validation, with a reason code'
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'stockstream.grain' = 'one row per rejected Kafka record (topic, partition, offset)'
)
