-- reference.daily_bars: one row per (ticker, trade_date), the daily OHLCV bar the simulator
-- turns into transactions. Written by `stockstream extract` (MERGE on ticker, trade_date).
CREATE TABLE IF NOT EXISTS reference.daily_bars (
  ticker       STRING    NOT NULL COMMENT 'Ticker symbol (key; see reference.dim_stock)',
  trade_date   DATE      NOT NULL COMMENT 'Trading day in the exchange timezone (key, partition column)',
  open         DOUBLE    NOT NULL COMMENT 'Opening price, listing currency',
  high         DOUBLE    NOT NULL COMMENT 'Highest price of the day, listing currency',
  low          DOUBLE    NOT NULL COMMENT 'Lowest price of the day, listing currency',
  close        DOUBLE    NOT NULL COMMENT 'Closing price, listing currency',
  volume       BIGINT    NOT NULL COMMENT 'Shares traded in the day',
  source       STRING    NOT NULL COMMENT 'Where the bar came from: yfinance or offline',
  extracted_at TIMESTAMP NOT NULL COMMENT 'When extract wrote this row'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Daily OHLCV bars per ticker: the source of the replayed transactions'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (ticker, trade_date)'
)
