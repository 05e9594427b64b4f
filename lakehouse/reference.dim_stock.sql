-- reference.dim_stock: one row per ticker (the universe's reference data). Written by
-- `stockstream extract` (MERGE on ticker); silver joins it (broadcast) onto every transaction.
CREATE TABLE IF NOT EXISTS reference.dim_stock (
  ticker            STRING    NOT NULL COMMENT 'Ticker symbol as listed (key), e.g. AAPL, 005930.KS',
  name              STRING    COMMENT 'Company name',
  sector            STRING    COMMENT 'Sector, e.g. Technology',
  industry          STRING    COMMENT 'Industry within the sector',
  country           STRING    COMMENT 'Country of the company',
  currency          STRING    NOT NULL COMMENT 'Listing currency (ISO 4217): prices are quoted in it',
  exchange          STRING    COMMENT 'Exchange the ticker trades on',
  exchange_timezone STRING    NOT NULL COMMENT 'IANA timezone of the exchange: defines the session and trade_date',
  updated_at        TIMESTAMP NOT NULL COMMENT 'When extract last wrote this row'
)
USING delta
COMMENT 'Reference data: one row per ticker of the universe'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per ticker'
)
