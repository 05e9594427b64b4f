"""Transactions from a CSV in the seed's format: `ticker,timestamp,price,volume,action`.

The seed wrote each ticker's rows newest first, so rows are sorted by time before replay.
A timestamp without an offset is read in the given timezone; txn_ids are deterministic (the
n-th trade of a ticker at an instant), so replaying the same file twice adds nothing downstream.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stockstream.errors import StockstreamError
from stockstream.market.transactions import ACTIONS, Transaction, txn_id

COLUMNS = ("ticker", "timestamp", "price", "volume", "action")
MAX_BYTES = 256 * 1024 * 1024
"""The file is read whole to sort it by time (about ten times its size in memory): larger files are
refused with the advice to split them."""
MAX_VOLUME = 2**63 - 1  # silver's volume is a BIGINT


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a folder of zones
        raise StockstreamError(
            f"--csv-tz {name!r} is not a timezone", "use an IANA name such as UTC or America/New_York"
        ) from None


def read_seed_csv(
    path: Path, timezone: str = "UTC", currencies: dict[str, str] | None = None
) -> list[Transaction]:
    """Every row of the file as a transaction, sorted by event time; a bad row is an error that
    names its line. The file is UTF-8 text (a byte-order mark is fine)."""
    tz = zone(timezone)
    currencies = currencies or {}
    try:
        size = path.stat().st_size
        handle = path.open("rb")
    except OSError as exc:
        raise StockstreamError(
            f"cannot read {path}: {exc.strerror}", "check the path given to --csv"
        ) from None
    if size == 0:
        handle.close()
        raise StockstreamError(
            f"{path} is empty", "give a CSV in the seed's format: ticker,timestamp,price,volume,action"
        )
    if size > MAX_BYTES:
        handle.close()
        raise StockstreamError(
            f"{path} is {size / 2**20:,.0f} MiB; a CSV replay reads its file whole to sort it by time, "
            f"up to {MAX_BYTES // 2**20} MiB",
            "split the file (e.g. one file per day) and replay the parts one after the other",
        )
    rows: list[tuple[datetime, str, float, int, str, int]] = []
    with handle:
        reader = csv.reader(_text_lines(path, handle))
        try:
            header = [cell.strip().lower() for cell in next(reader, [])]
            if tuple(header) != COLUMNS:
                shown = ",".join(header)
                shown = f"{shown[:80]}..." if len(shown) > 80 else shown or "(empty)"
                raise StockstreamError(
                    f"{path}, line 1: the header is {shown}",
                    f"the seed's format starts with the header {','.join(COLUMNS)}",
                )
            for cells in reader:
                if not cells or all(not cell.strip() for cell in cells):
                    continue
                rows.append((*_parse(path, reader.line_num, cells, tz), reader.line_num))
        except csv.Error as exc:  # a NUL byte, an unterminated quote, a field over the size limit
            raise StockstreamError(
                f"{path}, line {reader.line_num}: not a readable CSV row ({exc}); is this a CSV file?",
                "give a text CSV in the seed's format: ticker,timestamp,price,volume,action",
            ) from None
    if not rows:
        raise StockstreamError(
            f"{path} holds the header but no transaction",
            "add rows such as AAPL,2024-06-03 09:30:00,192.5,100,BUY below the header",
        )
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


def _text_lines(path: Path, lines: Iterable[bytes]) -> Iterator[str]:
    """The file's lines decoded one by one, so that a byte that is not UTF-8 is reported on its own
    line; a byte-order mark (Excel writes one) is dropped."""
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise StockstreamError(
                f"{path}, line {number}: byte {raw[exc.start]:#04x} is not UTF-8 text; is this a CSV file?",
                "give a text CSV in the seed's format, saved as UTF-8",
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _parse(path: Path, line: int, cells: list[str], tz: ZoneInfo) -> tuple[datetime, str, float, int, str]:
    def bad(what: str) -> StockstreamError:
        return StockstreamError(f"{path}, line {line}: {what}", "fix or remove that line; nothing was sent")

    if len(cells) != len(COLUMNS):
        raise bad(f"expected {len(COLUMNS)} fields ({','.join(COLUMNS)}), found {len(cells)}")
    ticker, stamp, price_text, volume_text, action = (cell.strip() for cell in cells)
    if not ticker:
        raise bad("the ticker is empty")
    if len(ticker) > 32 or not ticker.isprintable() or any(char.isspace() for char in ticker):
        raise bad(f"ticker {ticker!r} is not a ticker symbol (printable, no spaces, at most 32 characters)")
    try:
        timestamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        timestamp = (timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=tz)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: 0001-01-01 in a zone east of UTC
        raise bad(f"timestamp {stamp!r} is not ISO-8601 (e.g. 2024-06-03 09:30:00)") from None
    try:
        price = float(price_text)
    except ValueError:
        raise bad(f"price {price_text!r} is not a number") from None
    if not price > 0 or price == float("inf"):
        raise bad(f"price {price_text!r} must be a positive number")
    try:
        volume = int(volume_text)
    except ValueError:
        try:
            as_float = float(volume_text)  # 100.0 and 1e3 are whole numbers too
        except ValueError:
            raise bad(f"volume {volume_text!r} is not a whole number") from None
        if not as_float.is_integer():
            raise bad(f"volume {volume_text!r} must be a positive whole number") from None
        volume = int(as_float)
    if not 0 < volume <= MAX_VOLUME:
        raise bad(f"volume {volume_text!r} must be a positive whole number below 2^63")
    action = action.upper()
    if action not in ACTIONS:
        raise bad(f"action {action!r} is not BUY or SELL")
    return timestamp, ticker, price, volume, action
