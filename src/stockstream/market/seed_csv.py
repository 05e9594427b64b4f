"""Transactions from a CSV in the seed's format: `ticker,timestamp,price,volume,action`.

The seed wrote each ticker's rows newest first, so rows are sorted by time before replay.
A timestamp without an offset is read in the given timezone; txn_ids are deterministic (the
n-th trade of a ticker at an instant), so replaying the same file twice adds nothing downstream.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stockstream.errors import StockstreamError
from stockstream.market.transactions import ACTIONS, Transaction, txn_id

COLUMNS = ("ticker", "timestamp", "price", "volume", "action")


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise StockstreamError(
            f"--csv-tz {name!r} is not a timezone", "use an IANA name such as UTC or America/New_York"
        ) from None


def read_seed_csv(
    path: Path, timezone: str = "UTC", currencies: dict[str, str] | None = None
) -> list[Transaction]:
    """Every row of the file as a transaction, sorted by event time; a bad row is an error that
    names its line."""
    tz = zone(timezone)
    currencies = currencies or {}
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise StockstreamError(
            f"cannot read {path}: {exc.strerror}", "check the path given to --csv"
        ) from None
    rows: list[tuple[datetime, str, float, int, str, int]] = []
    with handle:
        reader = csv.reader(handle)
        header = [cell.strip().lower() for cell in next(reader, [])]
        if tuple(header) != COLUMNS:
            raise StockstreamError(
                f"{path}, line 1: the header is {','.join(header) or '(empty)'}",
                f"the seed's format starts with the header {','.join(COLUMNS)}",
            )
        for line, cells in enumerate(reader, start=2):
            if not cells or all(not cell.strip() for cell in cells):
                continue
            rows.append((*_parse(path, line, cells, tz), line))
    rows.sort(key=lambda row: (row[0], row[1], row[5]))
    seen: Counter[tuple[str, datetime]] = Counter()
    out = []
    for timestamp, ticker, price, volume, action, _ in rows:
        seq = seen[(ticker, timestamp)]
        seen[(ticker, timestamp)] += 1
        out.append(
            Transaction(
                txn_id=txn_id(ticker, timestamp, seq),
                ticker=ticker,
                timestamp=timestamp,
                price=price,
                volume=volume,
                action=action,
                currency=currencies.get(ticker, ""),
            )
        )
    return out


def _parse(path: Path, line: int, cells: list[str], tz: ZoneInfo) -> tuple[datetime, str, float, int, str]:
    def bad(what: str) -> StockstreamError:
        return StockstreamError(f"{path}, line {line}: {what}", "fix or remove that line; nothing was sent")

    if len(cells) != len(COLUMNS):
        raise bad(f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), found {len(cells)}")
    ticker, stamp, price_text, volume_text, action = (cell.strip() for cell in cells)
    if not ticker:
        raise bad("the ticker is empty")
    try:
        timestamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"timestamp {stamp!r} is not ISO-8601 (e.g. 2024-06-03 09:30:00)") from None
    timestamp = (timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=tz)).astimezone(UTC)
    try:
        price = float(price_text)
    except ValueError:
        raise bad(f"price {price_text!r} is not a number") from None
    if not price > 0 or price == float("inf"):
        raise bad(f"price {price_text!r} must be a positive number")
    try:
        volume = int(float(volume_text))
    except ValueError:
        raise bad(f"volume {volume_text!r} is not a whole number") from None
    if volume <= 0 or volume != float(volume_text):
        raise bad(f"volume {volume_text!r} must be a positive whole number")
    action = action.upper()
    if action not in ACTIONS:
        raise bad(f"action {action!r} is not BUY or SELL")
    return timestamp, ticker, price, volume, action
