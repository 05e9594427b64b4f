-- silver.transactions: one row per valid, distinct txn_id, typed, with its trade_date and the
-- dim_stock columns. Written by the stream's silver query (MERGE on txn_id within the batch's
-- trade_dates). The contract field `timestamp` is stored as event_time.
CREATE TABLE IF NOT EXISTS silver.transactions (
  txn_id            STRING    NOT NULL COMMENT 'Deterministic transaction id (key): a replayed record has the same id',
  ticker            STRING    NOT NULL COMMENT 'Ticker symbol (a reference.dim_stock ticker)',
  event_time        TIMESTAMP NOT NULL COMMENT 'Event time: the contract field timestamp (ISO-8601 UTC), renamed',
  price             DOUBLE    NOT NULL COMMENT 'Trade price (> 0), listing currency',
  volume            BIGINT    NOT NULL COMMENT 'Shares traded (> 0)',
  action            STRING    NOT NULL COMMENT 'BUY or SELL',
  currency          STRING    COMMENT 'Listing currency of price (ISO 4217), as in the event',
  schema_version    INT       NOT NULL COMMENT 'Contract version of the event',
  trade_date        DATE      NOT NULL COMMENT 'Date of event_time in the exchange timezone (partition column)',
  name              STRING    COMMENT 'Company name (reference.dim_stock)',
  sector            STRING    COMMENT 'Sector (reference.dim_stock)',
  industry          STRING    COMMENT 'Industry (reference.dim_stock)',
  country           STRING    COMMENT 'Country (reference.dim_stock)',
  exchange          STRING    COMMENT 'Exchange (reference.dim_stock)',
  exchange_timezone STRING    COMMENT 'IANA timezone of the exchange (reference.dim_stock)',
  topic             STRING    NOT NULL COMMENT 'Kafka topic of the record kept for this txn_id (later duplicates are dropped)',
  partition         INT       NOT NULL COMMENT 'Kafka partition of that record',
  offset            BIGINT    NOT NULL COMMENT 'Kafka offset of that record',
  ingest_time       TIMESTAMP NOT NULL COMMENT 'bronze ingest_time of that record'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Valid, de-duplicated transactions, typed and joined with reference.dim_stock'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per distinct txn_id'
)
