"""The market's value types: a listed stock, its exchange session, and a daily bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

SOURCES = ("yfinance", "offline")


@dataclass(frozen=True, slots=True)
class Session:
    """An exchange's regular trading hours in its own timezone (IANA name)."""

    timezone: str
    open: time
    close: time


@dataclass(frozen=True, slots=True)
class Stock:
    """One row of reference.dim_stock: a ticker and its company profile."""

    ticker: str
    name: str
    sector: str
    industry: str
    country: str
    currency: str
    exchange: str
    exchange_timezone: str


@dataclass(frozen=True, slots=True)
class DailyBar:
    """One row of reference.daily_bars: a ticker's day (prices in the listing currency)."""

    ticker: str
    trade_date: date
    open: float
    high: float
    low: float
    close: float
    volume: int
    source: str
