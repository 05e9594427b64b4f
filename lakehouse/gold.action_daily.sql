-- gold.action_daily: one row per (trade_date, action): transactions and shares by BUY/SELL. Written
-- by the stream's silver query (from silver for the trade_dates a batch touched, rewriting a day
-- only when it changed) and reconciled by `stockstream finalize`.
CREATE TABLE IF NOT EXISTS gold.action_daily (
  trade_date DATE      NOT NULL COMMENT 'Trading day (key, partition column)',
  action     STRING    NOT NULL COMMENT 'BUY or SELL (key)',
  trades     BIGINT    NOT NULL COMMENT 'Number of transactions',
  shares     BIGINT    NOT NULL COMMENT 'Shares traded (sum of volume)',
  updated_at TIMESTAMP NOT NULL COMMENT 'When this row was last (re)computed'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Daily transaction type distribution (analysis 2)'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (trade_date, action)'
)
