-- gold.stock_daily: one row per (trade_date, ticker): the day's OHLCV, trades, VWAP, buy/sell
-- shares and growth. Written by the stream's silver query (rebuilds the keys a batch touched from
-- silver, rewriting a day only when it changed) and reconciled by `stockstream finalize`.
CREATE TABLE IF NOT EXISTS gold.stock_daily (
  trade_date  DATE      NOT NULL COMMENT 'Trading day in the exchange timezone (key, partition column)',
  ticker      STRING    NOT NULL COMMENT 'Ticker symbol (key)',
  open        DOUBLE    NOT NULL COMMENT 'Price of the first trade of the day in event time',
  high        DOUBLE    NOT NULL COMMENT 'Highest trade price of the day',
  low         DOUBLE    NOT NULL COMMENT 'Lowest trade price of the day',
  close       DOUBLE    NOT NULL COMMENT 'Price of the last trade of the day in event time',
  volume      BIGINT    NOT NULL COMMENT 'Shares traded in the day (sum of volume)',
  trades      BIGINT    NOT NULL COMMENT 'Number of transactions in the day',
  vwap        DOUBLE    NOT NULL COMMENT 'Volume-weighted average price: sum(price * volume) / sum(volume)',
  buy_volume  BIGINT    NOT NULL COMMENT 'Shares of BUY transactions',
  sell_volume BIGINT    NOT NULL COMMENT 'Shares of SELL transactions',
  growth_pct  DOUBLE    NOT NULL COMMENT 'Growth of the day: (close - open) / open * 100',
  realised_volatility_pct DOUBLE COMMENT 'Realised volatility of the day in %: sqrt(sum of squared log returns between consecutive trades in event time) * 100',
  sector      STRING    COMMENT 'Sector (reference.dim_stock)',
  industry    STRING    COMMENT 'Industry (reference.dim_stock)',
  country     STRING    COMMENT 'Country (reference.dim_stock)',
  currency    STRING    COMMENT 'Listing currency of the prices (ISO 4217)',
  updated_at  TIMESTAMP NOT NULL COMMENT 'When this row was last (re)computed'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Daily statistics per stock, computed from silver.transactions'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (trade_date, ticker)'
)
