"""The daily gold tables of a set of trade dates, rebuilt from silver and merged in: the stream does
it for the days each micro-batch touched, the finaliser for one day. No watermark is involved, so
a backfilled old day gets its gold like any other."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from stockstream.config import Settings
from stockstream.pipeline import gold
from stockstream.pipeline.writes import merge_days, replace_days
from stockstream.tables import (
    ACTION_DAILY,
    COUNTRY_DAILY,
    INDUSTRY_DAILY,
    MINUTE_BARS,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    TECH_DAILY,
    table,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DAILY_KEYS: dict[str, tuple[str, ...]] = {
    STOCK_DAILY: ("trade_date", "ticker"),
    INDUSTRY_DAILY: ("trade_date", "industry"),
    COUNTRY_DAILY: ("trade_date", "country"),
    TECH_DAILY: ("trade_date", "industry"),
    ACTION_DAILY: ("trade_date", "action"),
}
MINUTE_BAR_KEYS = ("ticker", "window_start")


def silver_days(spark: SparkSession, settings: Settings, dates: Iterable[date]) -> DataFrame:
    """silver rows of these trade dates (partition-pruned)."""
    days = sorted(set(dates))
    return table(SILVER_TRANSACTIONS).read(spark, settings).where(F.col("trade_date").isin(days))


def daily_gold(silver: DataFrame, stocks: DataFrame | None = None) -> dict[str, DataFrame]:
    """Every daily gold table computed from silver rows; pass `stocks` (gold.stock_daily of the
    same rows, cached) so the group tables do not compute it again."""
    stocks = gold.stock_daily(silver) if stocks is None else stocks
    return {
        STOCK_DAILY: stocks,
        INDUSTRY_DAILY: gold.industry_daily(stocks),
        COUNTRY_DAILY: gold.country_daily(stocks),
        TECH_DAILY: gold.tech_daily(stocks),
        ACTION_DAILY: gold.action_daily(silver),
    }


def write_daily_gold(spark: SparkSession, settings: Settings, dates: Iterable[date]) -> None:
    """Rebuild the daily gold rows of these dates from silver and write them in (only days whose
    rows changed are rewritten; groups gone from a day are deleted)."""
    days = sorted(set(dates))
    if not days:
        return
    silver = silver_days(spark, settings, days).persist()
    stocks = gold.stock_daily(silver).persist()
    try:
        for name, frame in daily_gold(silver, stocks).items():
            path = table(name).path(settings)
            replace_days(spark, path, frame, DAILY_KEYS[name], days, what=f"write {name}")
    finally:
        stocks.unpersist()
        silver.unpersist()


def write_minute_bars(
    spark: SparkSession, settings: Settings, bars: DataFrame, dates: Iterable[date], *, complete: bool
) -> None:
    """Merge minute bars in; `complete` (the finaliser, all of a day's bars, usually what the
    table holds already) also deletes bars of these dates that the source no longer has, and
    compares before it merges."""
    merge_days(
        spark,
        table(MINUTE_BARS).path(settings),
        bars,
        MINUTE_BAR_KEYS,
        dates,
        delete_missing=complete,
        skip_unchanged=complete,
        what="merge gold.minute_bars",
    )
