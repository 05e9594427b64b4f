-- ops.stream_progress: one row per (query_name, batch_id, topic, partition): the offsets a
-- streaming query has committed. Written by the stream's queries (append, idempotent per batch).
CREATE TABLE IF NOT EXISTS ops.stream_progress (
  query_name   STRING    NOT NULL COMMENT 'Name of the streaming query (key)',
  batch_id     BIGINT    NOT NULL COMMENT 'Micro-batch id (key)',
  topic        STRING    NOT NULL COMMENT 'Kafka topic (key)',
  partition    INT       NOT NULL COMMENT 'Kafka partition (key)',
  end_offset   BIGINT    NOT NULL COMMENT 'Next offset to read after this batch (exclusive): every offset below it is processed',
  input_rows   BIGINT    NOT NULL COMMENT 'Records of this partition read in this batch',
  processed_at TIMESTAMP NOT NULL COMMENT 'When the batch was written'
)
USING delta
COMMENT 'Kafka offsets processed by each streaming query, per batch and partition'
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'stockstream.grain' = 'one row per (query_name, batch_id, topic, partition)'
)
