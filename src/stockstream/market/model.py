"""The market's value types: a listed stock, its exchange session, and a daily bar."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SOURCES = ("yfinance", "offline")


@dataclass(frozen=True, slots=True)
class Session:
    """An exchange's regular trading hours in its own timezone (IANA name)."""

    timezone: str
    open: time
    close: time

    def is_open(self, instant: datetime) -> bool:
        """Whether the exchange trades at an aware instant: a weekday, between open and close
        (both inclusive) on the exchange's wall clock. Exchange holidays are not modelled."""
        local = instant.astimezone(ZoneInfo(self.timezone))
        return local.weekday() < 5 and self.open <= local.time() <= self.close

    def next_open(self, instant: datetime) -> datetime:
        """The first session open strictly after an aware instant, in UTC (weekdays only)."""
        zone = ZoneInfo(self.timezone)
        day = instant.astimezone(zone).date()
        while True:  # a weekday open comes within 8 days of any instant
            opens = datetime.combine(day, self.open, tzinfo=zone)
            if day.weekday() < 5 and opens > instant:
                return opens.astimezone(UTC)
            day += timedelta(days=1)


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

    @classmethod
    def from_row(cls, row: Any) -> DailyBar:
        """A bar from a row of reference.daily_bars read with pandas (`itertuples`): numpy
        scalars become Python floats and ints."""
        return cls(
            ticker=str(row.ticker),
            trade_date=row.trade_date,
            open=float(row.open),
            high=float(row.high),
            low=float(row.low),
            close=float(row.close),
            volume=int(row.volume),
            source=str(row.source),
        )


STOCK_COLUMNS = tuple(field.name for field in fields(Stock))
"""reference.dim_stock's columns a Stock holds (all but updated_at)."""
BAR_COLUMNS = tuple(field.name for field in fields(DailyBar))
"""reference.daily_bars' columns a DailyBar holds (all but extracted_at)."""
