-- ops.replay_manifest: one row per (replay_id, trade_date, topic, partition): what a replay
-- published, with the offset range. Written by `stockstream replay`; read to know when a day is
-- complete (every partition's committed offset has reached end_offset).
CREATE TABLE IF NOT EXISTS ops.replay_manifest (
  replay_id    STRING    NOT NULL COMMENT 'Id of the replay run (key)',
  trade_date   DATE      NOT NULL COMMENT 'Trading day replayed (key, partition column)',
  topic        STRING    NOT NULL COMMENT 'Kafka topic published to (key)',
  partition    INT       NOT NULL COMMENT 'Kafka partition (key)',
  start_offset BIGINT    NOT NULL COMMENT 'Offset of the first record of the day in this partition (inclusive)',
  end_offset   BIGINT    NOT NULL COMMENT 'Offset after the last record of the day in this partition (exclusive: last offset + 1)',
  records      BIGINT    NOT NULL COMMENT 'Records of the day published to this partition',
  source       STRING    NOT NULL COMMENT 'Source of the daily bars the simulator replayed: offline or yfinance',
  replayed_at  TIMESTAMP NOT NULL COMMENT 'When the manifest was written, after every record was acknowledged'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'What each replay published, per trading day and Kafka partition'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (replay_id, trade_date, topic, partition)'
)
