"""Read the gold rows of a date range (and the reference and ops rows the report shows) into pandas."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from stockstream import lake
from stockstream.config import Settings
from stockstream.tables import (
    ACTION_DAILY,
    COUNTRY_DAILY,
    DAILY_BARS,
    DATA_QUALITY,
    INDUSTRY_DAILY,
    STOCK_DAILY,
    TECH_DAILY,
)

log = logging.getLogger(__name__)

GOLD_TABLES = (STOCK_DAILY, INDUSTRY_DAILY, COUNTRY_DAILY, TECH_DAILY, ACTION_DAILY)

_GROUP = ("growth_pct", "volume", "stocks", "growing_stocks", "updated_at")
COLUMNS: dict[str, tuple[str, ...]] = {
    STOCK_DAILY: (
        "trade_date",
        "ticker",
        "volume",
        "trades",
        "buy_volume",
        "sell_volume",
        "growth_pct",
        "sector",
        "industry",
        "country",
        "updated_at",
    ),
    INDUSTRY_DAILY: ("trade_date", "industry", *_GROUP),
    COUNTRY_DAILY: ("trade_date", "country", *_GROUP),
    TECH_DAILY: ("trade_date", "industry", *_GROUP),
    ACTION_DAILY: ("trade_date", "action", "trades", "shares", "updated_at"),
    DAILY_BARS: ("trade_date", "ticker", "source"),
    DATA_QUALITY: ("trade_date", "check_name", "status", "detail"),
}
"""The columns read from each table: only what the analyses and the report use."""

_FLOATS = frozenset({"growth_pct"})
_INTS = frozenset({"volume", "trades", "buy_volume", "sell_volume", "shares", "stocks", "growing_stocks"})


@dataclass(frozen=True)
class GoldData:
    """The rows of one date range: gold tables, daily bars and reconciliation results by table name,
    plus the Delta version of each gold table (None when it does not exist)."""

    frames: dict[str, pd.DataFrame]
    versions: dict[str, int | None] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]

    def days_with_data(self) -> list[date]:
        """Trade dates present in any gold table."""
        days: set[date] = set()
        for name in GOLD_TABLES:
            days.update(self.frames[name]["trade_date"])
        return sorted(days)


Loader = Callable[[Settings, date, date], GoldData]
"""Reads a GoldData for [start, end]; `load` is the real one, tests pass their own."""


def load(settings: Settings, start: date, end: date) -> GoldData:
    """The rows of every table the report needs with trade_date in [start, end]."""
    where = [("trade_date", ">=", start), ("trade_date", "<=", end)]
    frames = {
        name: normalise(lake.read(settings, name, columns=cols, where=where), cols)
        for name, cols in COLUMNS.items()
    }
    versions = {name: lake.version(settings, name) for name in GOLD_TABLES}
    log.info(
        "loaded %s for %s..%s",
        ", ".join(f"{name}={len(frame)} rows" for name, frame in frames.items()),
        start,
        end,
    )
    return GoldData(frames=frames, versions=versions)


def normalise(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """One place for types: trade_date as datetime.date, growth as float (Delta DECIMAL arrives as
    Python Decimal objects), counts as int64, updated_at as UTC timestamps."""
    frame = frame.reindex(columns=list(columns)).copy()
    for column in columns:
        if column == "trade_date":
            frame[column] = pd.to_datetime(frame[column]).dt.date
        elif column == "updated_at":
            frame[column] = pd.to_datetime(frame[column], utc=True)
        elif column in _FLOATS:
            frame[column] = frame[column].astype("float64")
        elif column in _INTS:
            frame[column] = frame[column].astype("int64")
    return frame.reset_index(drop=True)
