-- gold.forecasts: one row per (ticker, horizon_start): a short-horizon price prediction, and
-- later the realised value. Written by the forecast component (`stockstream forecast`; realised
-- filled in by MERGE once the horizon has passed).
CREATE TABLE IF NOT EXISTS gold.forecasts (
  ticker              STRING    NOT NULL COMMENT 'Ticker symbol (key)',
  horizon_start       TIMESTAMP NOT NULL COMMENT 'Event time the horizon starts at (key)',
  horizon_minutes     INT       NOT NULL COMMENT 'Length of the horizon in minutes',
  prediction          DOUBLE    NOT NULL COMMENT 'Predicted price at horizon_start + horizon_minutes, listing currency',
  predicted_direction STRING    NOT NULL COMMENT 'UP, DOWN or FLAT: prediction against the last price before horizon_start',
  model_version       STRING    NOT NULL COMMENT 'Version of the model that made the prediction',
  created_at          TIMESTAMP NOT NULL COMMENT 'When the prediction was written',
  realised            DOUBLE    COMMENT 'Actual price at horizon_start + horizon_minutes; NULL until known',
  realised_at         TIMESTAMP COMMENT 'When realised was filled in; NULL until then',
  trade_date          DATE      NOT NULL COMMENT 'Trading day of horizon_start in the exchange timezone (partition column)'
)
USING delta
PARTITIONED BY (trade_date)
COMMENT 'Short-horizon price forecasts and their realised values'
TBLPROPERTIES (
  'stockstream.grain' = 'one row per (ticker, horizon_start)'
)
