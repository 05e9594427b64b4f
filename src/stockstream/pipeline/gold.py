"""silver transactions -> the gold tables: pure transforms, shared by the stream and the finaliser.

Sums run in DECIMAL so a day recomputed from differently laid-out silver files (a restart, a
replay, the finaliser) gives bit-identical gold: floating-point sums depend on their order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.functions import pandas_udf
from pyspark.sql.types import DoubleType

DAY_KEYS = ("trade_date", "ticker")
TECHNOLOGY = "Technology"
# Exact for prices below 10^10 with up to 8 decimals and volumes below 10^18 shares: a product
# needs 18 + 18 + 1 = 37 digits, so Spark keeps all 8 decimals (at 39+ it would cut to 6).
_PRICE = "decimal(18,8)"
_SHARES = "decimal(18,0)"
# A growth % rounded to 12 decimals; 22 integer digits hold any day silver's price bounds allow
# (below 10^20 %), and the mean's sum (decimal(38,12)) a million such stocks.
_GROWTH = "decimal(34,12)"


def _first_by_time(value: str) -> Column:
    """value of the earliest trade in event time (txn_id breaks ties, so the pick is stable)."""
    return F.min_by(value, F.struct("event_time", "txn_id"))


def _last_by_time(value: str) -> Column:
    return F.max_by(value, F.struct("event_time", "txn_id"))


@pandas_udf(DoubleType())  # type: ignore[call-overload, untyped-decorator]
def realised_volatility_pct(event_time: pd.Series, txn_id: pd.Series, price: pd.Series) -> float:
    """Realised volatility in %: sqrt(sum of squared log returns between consecutive trades).

    A grouped-aggregate pandas UDF: Spark has no ordered aggregate for it, and the returns need
    the trades in event-time order, which a built-in aggregate does not see."""
    trades = pd.DataFrame({"t": event_time, "id": txn_id, "p": price}).sort_values(["t", "id"])
    returns = np.diff(np.log(trades["p"].to_numpy(dtype=float)))
    return float(np.sqrt(np.sum(returns * returns)) * 100.0)


def stock_daily(silver: DataFrame) -> DataFrame:
    """silver rows -> gold.stock_daily: one row per (trade_date, ticker)."""
    volume = F.sum("volume")
    notional = F.sum(F.col("price").cast(_PRICE) * F.col("volume").cast(_SHARES))
    stats = silver.groupBy(*DAY_KEYS).agg(
        _first_by_time("price").alias("open"),
        F.max("price").alias("high"),
        F.min("price").alias("low"),
        _last_by_time("price").alias("close"),
        volume.alias("volume"),
        F.count(F.lit(1)).alias("trades"),
        # The exact sum, then one division in double: as precise as a double can be, and stable.
        (notional.cast("double") / volume.cast("double")).alias("vwap"),
        F.sum(F.when(F.col("action") == "BUY", F.col("volume")).otherwise(0)).alias("buy_volume"),
        F.sum(F.when(F.col("action") == "SELL", F.col("volume")).otherwise(0)).alias("sell_volume"),
        F.max("sector").alias("sector"),
        F.max("industry").alias("industry"),
        F.max("country").alias("country"),
        F.max("currency").alias("currency"),
    )
    volatility = silver.groupBy(*DAY_KEYS).agg(
        realised_volatility_pct("event_time", "txn_id", "price").alias("realised_volatility_pct")
    )
    growth = (F.col("close") - F.col("open")) / F.col("open") * 100.0
    return stats.join(volatility, list(DAY_KEYS)).select(
        "trade_date",
        "ticker",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trades",
        "vwap",
        "buy_volume",
        "sell_volume",
        growth.alias("growth_pct"),
        "realised_volatility_pct",
        "sector",
        "industry",
        "country",
        "currency",
        F.current_timestamp().alias("updated_at"),
    )


def group_daily(stocks: DataFrame, group: str) -> DataFrame:
    """gold.stock_daily rows -> one row per (trade_date, group): equal-weight mean growth, shares,
    stocks and growing stocks. Stocks without a group (no reference data) are left out."""
    return (
        stocks.where(F.col(group).isNotNull())
        .groupBy("trade_date", group)
        .agg(
            F.avg(F.col("growth_pct").cast(_GROWTH)).cast("double").alias("growth_pct"),
            F.sum("volume").alias("volume"),
            F.count(F.lit(1)).cast("int").alias("stocks"),
            F.sum(F.when(F.col("growth_pct") > 0, 1).otherwise(0)).cast("int").alias("growing_stocks"),
        )
        .withColumn("updated_at", F.current_timestamp())
    )


def industry_daily(stocks: DataFrame) -> DataFrame:
    """gold.industry_daily: (trade_date, industry)."""
    return group_daily(stocks, "industry")


def country_daily(stocks: DataFrame) -> DataFrame:
    """gold.country_daily: (trade_date, country)."""
    return group_daily(stocks, "country")


def tech_daily(stocks: DataFrame) -> DataFrame:
    """gold.tech_daily: (trade_date, industry) of the Technology sector's industries."""
    tech = group_daily(stocks.where(F.col("sector") == TECHNOLOGY), "industry")
    return tech.select(
        "trade_date",
        "industry",
        F.lit(TECHNOLOGY).alias("sector"),
        "growth_pct",
        "volume",
        "stocks",
        "growing_stocks",
        "updated_at",
    )


def action_daily(silver: DataFrame) -> DataFrame:
    """silver rows -> gold.action_daily: trades and shares per (trade_date, action)."""
    return (
        silver.groupBy("trade_date", "action")
        .agg(F.count(F.lit(1)).alias("trades"), F.sum("volume").alias("shares"))
        .withColumn("updated_at", F.current_timestamp())
    )


def minute_bars(silver: DataFrame) -> DataFrame:
    """silver rows -> gold.minute_bars: OHLCV per (ticker, 1-minute event-time window). On a
    stream, call it on a frame with a watermark on event_time so windows close."""
    window = F.window("event_time", "1 minute")
    bars = silver.groupBy(window.alias("w"), "ticker", "trade_date").agg(
        _first_by_time("price").alias("open"),
        F.max("price").alias("high"),
        F.min("price").alias("low"),
        _last_by_time("price").alias("close"),
        F.sum("volume").alias("volume"),
        F.count(F.lit(1)).alias("trades"),
    )
    return bars.select(
        "ticker",
        F.col("w.start").alias("window_start"),
        F.col("w.end").alias("window_end"),
        "trade_date",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "trades",
    )
