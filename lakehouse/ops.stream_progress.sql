-- ops.stream_progress: one row per (query_name, batch_id): what a micro-batch of a streaming query
-- processed. The silver query writes its own row inside the batch (idempotent with txnAppId), so
-- a batch's Kafka coverage is recorded exactly when its silver and gold writes are; the other
-- queries' rows come from the job's StreamingQueryListener. A day is complete in silver when, for
-- every partition, max(end_offsets[partition]) of the silver rows reaches the day's end_offset in
-- ops.replay_manifest.
CREATE TABLE IF NOT EXISTS ops.stream_progress (
  query_name                STRING    NOT NULL COMMENT 'Streaming query: bronze, silver, minute_bars or alerts (key)',
  batch_id                  BIGINT    NOT NULL COMMENT 'Micro-batch id (key)',
  run_id                    STRING    COMMENT 'Run id of the query (changes on every restart)',
  topic                     STRING    COMMENT 'Kafka topic the offsets refer to (bronze, silver)',
  end_offsets               MAP<INT, BIGINT> COMMENT 'Kafka partition -> next offset to read after this batch (exclusive): every offset below it in those partitions is processed',
  input_rows                BIGINT    NOT NULL COMMENT 'Rows the batch read',
  valid_rows                BIGINT    COMMENT 'silver: valid records (before de-duplication)',
  quarantined_rows          BIGINT    COMMENT 'silver: records sent to silver.quarantine',
  duplicate_rows            BIGINT    COMMENT 'silver: valid records dropped as duplicates of a txn_id already in silver or in the batch',
  input_rows_per_second     DOUBLE    COMMENT 'Arrival rate Spark measured (listener rows)',
  processed_rows_per_second DOUBLE    COMMENT 'Processing rate Spark measured (listener rows)',
  duration_ms               BIGINT    COMMENT 'Wall time of the batch in milliseconds',
  watermark                 TIMESTAMP COMMENT 'Event-time watermark after the batch (queries with one)',
  processed_at              TIMESTAMP NOT NULL COMMENT 'When the batch finished'
)
USING delta
COMMENT 'What each micro-batch of each streaming query processed'
TBLPROPERTIES (
  'delta.appendOnly' = 'true',
  'stockstream.grain' = 'one row per (query_name, batch_id)'
)
