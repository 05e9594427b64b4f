-- gold.minute_bars: one row per (ticker, 1-minute event-time window): OHLCV of the window,
-- emitted once a watermark closes it. Written by the stream's minute-bar query.
CREATE TABLE IF NOT EXISTS gold.minute_bars (
  ticker       STRING    NOT NULL COMMENT 'Ticker symbol (key)',
  window_start TIMESTAMP NOT NULL COMMENT 'Start of the 1-minute event-time window, inclusive (key)',
  window_end   TIMESTAMP NOT NULL COMMENT 'End of the window, exclusive (window_start + 1 minute)',
  trade_date   DATE      NOT NULL COMMENT 'Trading day of the window in the exchange timezone (partition column)',
  open         DOUBLE    NOT NULL COMMENT 'Price of the first trade in the window (event time)',
  high         DOUBLE    NOT NULL COMMENT 'Highest trade price in the window',
  low          DOUBLE    NOT NULL COMMENT 'Lowest trade price in the window',
  close        DOUBLE    NOT NULL COMMENT 'Price of the last trade in the window (event time)',
  volume       BIGINT    NOT NULL COMMENT 'Shares traded in the window',
  trades       BIGINT    NOT NULL COMMENT 'Number of transactions in the window'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Live 1-minute OHLCV bars per ticker, closed by an event-time watermark'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (ticker, window_start) 1-minute event-time window'
)
