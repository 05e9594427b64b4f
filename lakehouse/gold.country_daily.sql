-- gold.country_daily: one row per (trade_date, country): equal-weight mean growth of the country's
-- stocks, shares, growing/total counts. Written by the stream's silver query (from gold.stock_daily
-- for the trade_dates a batch touched, rewriting a day only when it changed) and reconciled by
-- `stockstream finalize`.
CREATE TABLE IF NOT EXISTS gold.country_daily (
  trade_date     DATE      NOT NULL COMMENT 'Trading day (key, partition column)',
  country        STRING    NOT NULL COMMENT 'Country (key)',
  growth_pct     DOUBLE    NOT NULL COMMENT 'Equal-weight mean of the member stocks growth_pct',
  volume         BIGINT    NOT NULL COMMENT 'Shares traded by the member stocks',
  stocks         INT       NOT NULL COMMENT 'Member stocks that traded that day',
  growing_stocks INT       NOT NULL COMMENT 'Member stocks with growth_pct > 0',
  updated_at     TIMESTAMP NOT NULL COMMENT 'When this row was last (re)computed'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Daily growth per country (analysis 5)'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (trade_date, country)'
)
