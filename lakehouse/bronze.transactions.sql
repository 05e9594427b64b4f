-- bronze.transactions: one row per Kafka record as received (append-only, exactly once through
-- the Delta sink's checkpoint). Nothing is parsed here: silver does that.
CREATE TABLE IF NOT EXISTS bronze.transactions (
  key             STRING    COMMENT 'Kafka record key (the ticker), UTF-8',
  value           BINARY    COMMENT 'Kafka record value as received (UTF-8 JSON by contract)',
  topic           STRING    NOT NULL COMMENT 'Kafka topic',
  partition       INT       NOT NULL COMMENT 'Kafka partition',
  offset          BIGINT    NOT NULL COMMENT 'Kafka offset within the partition',
  kafka_timestamp TIMESTAMP COMMENT 'Kafka record timestamp (producer create time)',
  ingest_time     TIMESTAMP NOT NULL COMMENT 'When the micro-batch that wrote the row started',
  ingest_date     DATE      NOT NULL COMMENT 'UTC date of ingest_time (partition column)'
)
USING delta
PARTITIONED BY (ingest_date)
COMMENT 'Every Kafka record of the transactions topic, as received'
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'stockstream.grain' = 'one row per Kafka record (topic, partition, offset)'
)
