"""Expected gold computed in Python from the transactions a scenario published, and the gold the
stream wrote read back without a JVM, in one comparable shape: the chaos scenarios check the
platform against these exact values, not against the platform's own recomputation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from stockstream import lake
from stockstream.config import Settings
from stockstream.market.transactions import Transaction
from stockstream.tables import MINUTE_BARS, SILVER_TRANSACTIONS, STOCK_DAILY

DayKey = tuple[date, str]  # (trade_date, ticker)
BarKey = tuple[str, datetime]  # (ticker, window_start as naive UTC)
STOCK_FIELDS = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trades",
    "vwap",
    "buy_volume",
    "sell_volume",
    "growth_pct",
)
BAR_FIELDS = ("window_end", "trade_date", "open", "high", "low", "close", "volume", "trades")
_EIGHT_PLACES = Decimal("0.00000001")


def naive_utc(value: Any) -> datetime:
    """A timestamp (aware or naive UTC, pandas or Python) as a naive UTC datetime."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    moment: datetime = stamp.to_pydatetime()
    return moment


def _as_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    day: date = pd.Timestamp(value).date()
    return day


def _ordered(txns: Iterable[Transaction]) -> list[Transaction]:
    """Distinct txn_ids (the first record of each, as silver keeps it) in event-time order, ties
    broken by txn_id (gold's definition of first and last)."""
    seen: dict[str, Transaction] = {}
    for txn in txns:
        seen.setdefault(txn.txn_id, txn)
    return sorted(seen.values(), key=lambda t: (naive_utc(t.timestamp), t.txn_id))


def expected_stock_daily(
    txns: Iterable[Transaction], day_of: Callable[[Transaction], date]
) -> dict[DayKey, dict[str, Any]]:
    """gold.stock_daily's values per (trade_date, ticker) of these transactions (duplicates
    counted once): open/close = first/last trade in event time, vwap and growth as gold.py
    computes them (an exact sum of price x volume at 8 decimals, one division in double)."""
    groups: dict[DayKey, list[Transaction]] = defaultdict(list)
    for txn in _ordered(txns):
        groups[(day_of(txn), txn.ticker)].append(txn)
    out: dict[DayKey, dict[str, Any]] = {}
    for key, trades in groups.items():
        volume = sum(t.volume for t in trades)
        notional = sum(
            Decimal(repr(t.price)).quantize(_EIGHT_PLACES, rounding=ROUND_HALF_UP) * t.volume for t in trades
        )
        first, last = trades[0].price, trades[-1].price
        out[key] = {
            "open": first,
            "high": max(t.price for t in trades),
            "low": min(t.price for t in trades),
            "close": last,
            "volume": volume,
            "trades": len(trades),
            "vwap": float(notional) / float(volume),
            "buy_volume": sum(t.volume for t in trades if t.action == "BUY"),
            "sell_volume": sum(t.volume for t in trades if t.action == "SELL"),
            "growth_pct": (last - first) / first * 100.0,
        }
    return out


def stock_daily(settings: Settings) -> dict[DayKey, dict[str, Any]]:
    """gold.stock_daily as the stream (or the finaliser) wrote it, in expected_stock_daily's shape."""
    frame = lake.read(settings, STOCK_DAILY, columns=["trade_date", "ticker", *STOCK_FIELDS])
    return {
        (_as_date(row["trade_date"]), str(row["ticker"])): {f: _plain(row[f]) for f in STOCK_FIELDS}
        for row in frame.to_dict("records")
    }


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so values compare and print plainly."""
    return value.item() if hasattr(value, "item") else value


def window_of(moment: datetime) -> datetime:
    """Start of the 1-minute event-time window holding `moment` (naive UTC)."""
    moment = naive_utc(moment)
    return moment.replace(second=0, microsecond=0)


def expected_minute_bars(
    txns: Iterable[Transaction], day_of: Callable[[Transaction], date]
) -> dict[BarKey, dict[str, Any]]:
    """gold.minute_bars' values per (ticker, window_start) of these transactions."""
    groups: dict[BarKey, list[Transaction]] = defaultdict(list)
    for txn in _ordered(txns):
        groups[(txn.ticker, window_of(txn.timestamp))].append(txn)
    return {
        (ticker, start): {
            "window_end": start + timedelta(minutes=1),
            "trade_date": day_of(trades[0]),
            "open": trades[0].price,
            "high": max(t.price for t in trades),
            "low": min(t.price for t in trades),
            "close": trades[-1].price,
            "volume": sum(t.volume for t in trades),
            "trades": len(trades),
        }
        for (ticker, start), trades in groups.items()
    }


def minute_bars(settings: Settings) -> dict[BarKey, dict[str, Any]]:
    """gold.minute_bars as written, in expected_minute_bars' shape."""
    frame = lake.read(settings, MINUTE_BARS, columns=["ticker", "window_start", *BAR_FIELDS])
    out = {}
    for row in frame.to_dict("records"):
        values = {f: _plain(row[f]) for f in BAR_FIELDS}
        values["window_end"] = naive_utc(row["window_end"])
        values["trade_date"] = _as_date(row["trade_date"])
        out[(str(row["ticker"]), naive_utc(row["window_start"]))] = values
    return out


def silver_transactions(settings: Settings) -> list[Transaction]:
    """silver.transactions rows back as Transactions (for recomputing gold from silver in Python)."""
    frame = lake.read(
        settings,
        SILVER_TRANSACTIONS,
        columns=["txn_id", "ticker", "event_time", "price", "volume", "action", "currency"],
    )
    return [
        Transaction(
            txn_id=str(row["txn_id"]),
            ticker=str(row["ticker"]),
            timestamp=naive_utc(row["event_time"]).replace(tzinfo=UTC),
            price=float(row["price"]),
            volume=int(row["volume"]),
            action=str(row["action"]),
            currency=str(row["currency"] or ""),
        )
        for row in frame.to_dict("records")
    ]


def differences(
    got: Mapping[Any, Mapping[str, Any]], expected: Mapping[Any, Mapping[str, Any]], *, limit: int = 3
) -> list[str]:
    """What differs between two keyed tables: missing and unexpected keys, and values not exactly
    equal (the first `limit` of each kind, then how many in all)."""
    missing = sorted(set(expected) - set(got), key=str)
    extra = sorted(set(got) - set(expected), key=str)
    changed = [
        f"{key} {field}: {got[key].get(field)!r} != expected {value!r}"
        for key in sorted(set(got) & set(expected), key=str)
        for field, value in expected[key].items()
        if got[key].get(field) != value
    ]
    out = []
    for what, items in (("missing", missing), ("unexpected", extra), ("wrong", changed)):
        if items:
            shown = ", ".join(str(item) for item in items[:limit])
            out.append(f"{len(items)} {what}: {shown}{' ...' if len(items) > limit else ''}")
    return out
