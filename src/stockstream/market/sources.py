"""Where daily bars and company profiles come from: Yahoo Finance, or a deterministic offline
generator with the same interface (tests, demos, machines without internet)."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

import numpy as np

from stockstream.errors import StockstreamError
from stockstream.market.model import DailyBar, Stock

log = logging.getLogger(__name__)

T = TypeVar("T")


class MarketSource(Protocol):
    """A provider of daily bars and company profiles."""

    name: str

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[DailyBar]:
        """Bars of every trading day in [start, end] (both inclusive) for each ticker."""
        ...

    def profiles(self, tickers: Sequence[str]) -> list[Stock]:
        """Company profiles (reference.dim_stock rows) of the tickers."""
        ...


def business_days(start: date, end: date) -> list[date]:
    """Monday to Friday in [start, end]; exchange holidays are not modelled."""
    days = []
    day = start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


# ---------------------------------------------------------------------------------------------
# Offline


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


class _Factor:
    """A daily N(0, 1) series per name, fixed per (name, year) so that any date range of any
    query sees the same value on the same day."""

    def __init__(self) -> None:
        self._years: dict[tuple[str, int], np.ndarray] = {}

    def values(self, name: str, days: Sequence[date]) -> np.ndarray:
        out = np.empty(len(days))
        for i, day in enumerate(days):
            key = (name, day.year)
            if key not in self._years:
                self._years[key] = np.random.default_rng(_seed(f"{name}|{key[1]}")).standard_normal(366)
            out[i] = self._years[key][day.timetuple().tm_yday - 1]
        return out


class OfflineSource:
    """Deterministic daily bars: a market factor, sector and country factors and idiosyncratic
    noise drive each ticker's close from its base price (anchored on ANCHOR), so group heatmaps
    show structure; the same (ticker, day) always gives the same bar."""

    name = "offline"
    ANCHOR = date(2026, 1, 2)
    MARKET_VOL, SECTOR_VOL, COUNTRY_VOL, IDIO_VOL = 0.008, 0.006, 0.005, 0.012
    INTRADAY_VOL = 0.006

    def __init__(self, universe: Sequence[Stock], profiles: dict[str, tuple[float, int]]) -> None:
        self.universe = {stock.ticker: stock for stock in universe}
        self.base = profiles
        self._factors = _Factor()

    def _stock(self, ticker: str) -> Stock:
        try:
            return self.universe[ticker]
        except KeyError:
            raise StockstreamError(
                f"the offline source knows no ticker {ticker!r}",
                "add it to the universe file with a base price and volume, or use --source yfinance",
            ) from None

    def profiles(self, tickers: Sequence[str]) -> list[Stock]:
        return [self._stock(ticker) for ticker in tickers]

    def _log_returns(self, stock: Stock, days: Sequence[date]) -> np.ndarray:
        beta = 0.7 + 0.6 * (_seed(f"beta|{stock.ticker}") % 1000) / 1000
        return (
            beta * self.MARKET_VOL * self._factors.values("market", days)
            + self.SECTOR_VOL * self._factors.values(f"sector|{stock.sector}", days)
            + self.COUNTRY_VOL * self._factors.values(f"country|{stock.country}", days)
            + self.IDIO_VOL * self._factors.values(f"idio|{stock.ticker}", days)
        )

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[DailyBar]:
        days = business_days(start, end)
        if not days:
            return []
        # The close path is a cumulative sum of returns from the anchor day, so a bar does not
        # depend on the queried range.
        first, last = min(days[0], self.ANCHOR), max(days[-1], self.ANCHOR)
        path = business_days(first - timedelta(days=7), last)
        index = {day: i for i, day in enumerate(path)}
        bars = []
        for ticker in tickers:
            stock = self._stock(ticker)
            base_price, base_volume = self.base[ticker]
            returns = self._log_returns(stock, path)
            log_close = np.cumsum(returns)
            log_close += math.log(base_price) - log_close[index[_on_or_after(self.ANCHOR, index)]]
            gap = 0.002 * self._factors.values(f"gap|{ticker}", path)
            wick_up = np.abs(self._factors.values(f"high|{ticker}", path)) * self.INTRADAY_VOL
            wick_down = np.abs(self._factors.values(f"low|{ticker}", path)) * self.INTRADAY_VOL
            activity = self._factors.values(f"volume|{ticker}", path)
            for day in days:
                i = index[day]
                close = math.exp(log_close[i])
                open_ = math.exp(log_close[i - 1] + gap[i])
                high = max(open_, close) * math.exp(wick_up[i])
                low = min(open_, close) * math.exp(-wick_down[i])
                move = abs(returns[i]) / 0.015
                volume = int(base_volume * math.exp(0.25 * activity[i]) * (0.8 + 0.4 * move))
                bars.append(
                    DailyBar(
                        ticker=ticker,
                        trade_date=day,
                        open=_price(open_),
                        high=_price(high),
                        low=_price(low),
                        close=_price(close),
                        volume=max(volume, 1),
                        source=self.name,
                    )
                )
        return bars


def _on_or_after(day: date, index: dict[date, int]) -> date:
    while day not in index:
        day += timedelta(days=1)
    return day


def _price(value: float) -> float:
    """Four significant decimals for small prices, cents for large ones; rounding keeps
    low <= open, close <= high because all four are rounded the same way."""
    return round(value, 4 if value < 1000 else 2)


# ---------------------------------------------------------------------------------------------
# Yahoo Finance


def retry(call: Callable[[], T], what: str, attempts: int = 3, backoff: float = 1.0) -> T:
    """call() with exponential backoff; the last failure becomes a StockstreamError."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except StockstreamError:
            raise
        except Exception as exc:  # yfinance surfaces network failures as many exception types
            if attempt == attempts:
                raise StockstreamError(
                    f"Yahoo Finance did not answer for {what} after {attempts} attempts: {exc}",
                    "check the network, or use --source offline",
                ) from exc
            wait = backoff * 2 ** (attempt - 1)
            log.warning("Yahoo Finance failed for %s (%s); retrying in %.0fs", what, exc, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


class YFinanceSource:
    """Daily bars from Ticker.history (unadjusted OHLCV) and profiles from Ticker.info."""

    name = "yfinance"

    def __init__(self, fallback_profiles: dict[str, Stock] | None = None, attempts: int = 3) -> None:
        import yfinance

        self._yf = yfinance
        self.fallback = fallback_profiles or {}
        self.attempts = attempts

    def _history(self, ticker: str, start: date, end: date) -> Any:
        return self._yf.Ticker(ticker).history(
            start=start.isoformat(),
            end=(end + timedelta(days=1)).isoformat(),  # Yahoo's end is exclusive
            interval="1d",
            auto_adjust=False,
            actions=False,
            raise_errors=True,
        )

    def daily_bars(self, tickers: Sequence[str], start: date, end: date) -> list[DailyBar]:
        bars: list[DailyBar] = []
        empty = []
        for ticker in tickers:
            frame = retry(lambda t=ticker: self._history(t, start, end), f"{ticker} bars", self.attempts)  # type: ignore[misc]
            parsed = parse_history(ticker, frame)
            if not parsed:
                empty.append(ticker)
            bars.extend(parsed)
        if empty and len(empty) == len(tickers):
            raise StockstreamError(
                f"Yahoo Finance returned no bars for {', '.join(empty)} between {start} and {end}",
                "check the tickers and that the range has trading days",
            )
        for ticker in empty:
            log.warning("Yahoo Finance returned no bars for %s between %s and %s", ticker, start, end)
        return bars

    def profiles(self, tickers: Sequence[str]) -> list[Stock]:
        stocks = []
        for ticker in tickers:
            info = retry(lambda t=ticker: self._yf.Ticker(t).info, f"{ticker} profile", self.attempts)  # type: ignore[misc]
            stocks.append(parse_info(ticker, info, self.fallback.get(ticker)))
        return stocks


def parse_history(ticker: str, frame: Any) -> list[DailyBar]:
    """Ticker.history's frame (index: exchange-local timestamps; Open/High/Low/Close/Volume) ->
    bars; rows without a complete OHLC are left out."""
    if frame is None or len(frame) == 0:
        return []
    bars = []
    for stamp, row in frame.iterrows():
        values = [row.get(column) for column in ("Open", "High", "Low", "Close", "Volume")]
        if any(value is None or (isinstance(value, float) and math.isnan(value)) for value in values):
            continue
        open_, high, low, close, volume = (float(v) for v in values)
        if min(open_, high, low, close) <= 0 or volume <= 0:
            continue
        bars.append(
            DailyBar(
                ticker=ticker,
                trade_date=stamp.date(),  # the index is in the exchange's timezone already
                open=open_,
                high=max(high, open_, close),
                low=min(low, open_, close),
                close=close,
                volume=int(volume),
                source="yfinance",
            )
        )
    return bars


def parse_info(ticker: str, info: dict[str, Any], fallback: Stock | None) -> Stock:
    """Ticker.info -> a profile; a field Yahoo leaves out comes from the universe file, and a
    ticker with neither gets an error naming the missing fields."""
    fields = {
        "name": info.get("longName") or info.get("shortName"),
        "sector": info.get("sector"),
        "industry": info.get("industry"),
        "country": info.get("country"),
        "currency": info.get("currency"),
        "exchange": info.get("exchange"),
        "exchange_timezone": info.get("exchangeTimezoneName") or info.get("timeZoneFullName"),
    }
    for key, value in fields.items():
        if not value and fallback is not None:
            fields[key] = getattr(fallback, key)
    missing = [key for key, value in fields.items() if not value]
    if missing:
        raise StockstreamError(
            f"Yahoo Finance has no {', '.join(missing)} for {ticker}",
            "check the ticker symbol, or add the ticker to the universe file with its profile",
        )
    return Stock(ticker=ticker, **{key: str(value) for key, value in fields.items()})


def yahoo_reachable(deadline: float = 8.0) -> bool:
    """One small request to Yahoo within the deadline."""
    import yfinance

    def probe() -> bool:
        frame = yfinance.Ticker("AAPL").history(period="5d", interval="1d", raise_errors=True)
        return len(frame) > 0

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yahoo-probe")
    future = pool.submit(probe)
    try:
        return bool(future.result(timeout=deadline))
    except FutureTimeout:
        return False
    except Exception:  # any failure of the probe means: not reachable now
        return False
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung probe must not hold us past the deadline
