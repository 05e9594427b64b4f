"""Reference data: the default stock universe (a reviewed CSV) and each exchange's regular session."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import time
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stockstream.errors import StockstreamError
from stockstream.market.model import STOCK_COLUMNS, Session, Stock

UNIVERSE_CSV = Path(__file__).parent / "data" / "universe.csv"
COLUMNS = (*STOCK_COLUMNS, "base_price", "avg_volume")
"""The universe CSV's header: a Stock's fields, then the offline generator's two."""
_CURRENCY = re.compile(r"[A-Z]{3}")

_NEW_YORK = Session("America/New_York", time(9, 30), time(16, 0))
# Regular hours by Yahoo exchange code; auctions and lunch breaks (Tokyo) are not modelled.
SESSIONS: dict[str, Session] = {
    "NMS": _NEW_YORK,
    "NYQ": _NEW_YORK,
    "PNK": _NEW_YORK,
    "KSC": Session("Asia/Seoul", time(9, 0), time(15, 30)),
    "PAR": Session("Europe/Paris", time(9, 0), time(17, 30)),
    "GER": Session("Europe/Berlin", time(9, 0), time(17, 30)),
    "JPX": Session("Asia/Tokyo", time(9, 0), time(15, 30)),
    "TOR": Session("America/Toronto", time(9, 30), time(16, 0)),
    "NSI": Session("Asia/Kolkata", time(9, 15), time(15, 30)),
    "SAO": Session("America/Sao_Paulo", time(10, 0), time(17, 0)),
    "EBS": Session("Europe/Zurich", time(9, 0), time(17, 30)),
    "ASX": Session("Australia/Sydney", time(10, 0), time(16, 0)),
    "LSE": Session("Europe/London", time(8, 0), time(16, 30)),
}


@dataclass(frozen=True, slots=True)
class _Row:
    """One validated line of a universe file: the stock and its offline-generator profile."""

    stock: Stock
    base_price: float
    avg_volume: int


def session_for(stock: Stock) -> Session:
    """The stock's exchange session; an unknown exchange gets 09:30-16:00 in the stock's own timezone."""
    default = Session(stock.exchange_timezone, time(9, 30), time(16, 0))
    return SESSIONS.get(stock.exchange, default)


def load_universe(path: Path | None = None) -> list[Stock]:
    """The stocks of a universe CSV (default: the packaged one), in file order, every row validated."""
    return [row.stock for row in _read(path or UNIVERSE_CSV)]


def reference_profile(ticker: str, path: Path | None = None) -> tuple[float, int]:
    """(base_price, avg_volume) of a ticker of a universe file (default: the packaged one)."""
    path = path or UNIVERSE_CSV
    profiles = _profiles(path, _mtime_ns(path))
    if ticker not in profiles:
        raise StockstreamError(
            f"{ticker!r} is not in the reference universe {path}",
            hint="use a ticker of the universe file, or the yfinance source for other tickers",
        )
    return profiles[ticker]


def _mtime_ns(path: Path) -> int:
    """The file's modification time, so an edited universe file is read again."""
    try:
        return path.stat().st_mtime_ns
    except OSError as exc:
        raise StockstreamError(f"cannot read the universe file {path}: {exc.strerror or exc}") from exc


@cache
def _profiles(path: Path, mtime_ns: int) -> dict[str, tuple[float, int]]:
    """A universe file's (base_price, avg_volume) by ticker, read once per version of the file."""
    del mtime_ns  # only part of the cache key
    return {row.stock.ticker: (row.base_price, row.avg_volume) for row in _read(path)}


def _read(path: Path) -> list[_Row]:
    """Every row of a universe CSV, validated; the first problem raises with its file and line."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise _bad(path, 1, f"header must be {','.join(COLUMNS)}, got {reader.fieldnames}")
            rows: list[_Row] = []
            first_line: dict[str, int] = {}
            for record in reader:
                line = reader.line_num
                row = _parse(path, line, record)
                ticker = row.stock.ticker
                if ticker in first_line:
                    raise _bad(
                        path, line, f"duplicate ticker {ticker!r} (first on line {first_line[ticker]})"
                    )
                first_line[ticker] = line
                rows.append(row)
    except OSError as exc:
        raise StockstreamError(f"cannot read the universe file {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise StockstreamError(f"{path}: not a UTF-8 CSV file: {exc}") from exc
    return rows


def _parse(path: Path, line: int, record: dict[str | None, str | None]) -> _Row:
    """One CSV record as a _Row, or a StockstreamError naming the file, line and problem."""
    if None in record:
        raise _bad(path, line, f"{len(COLUMNS) + len(record[None] or ())} fields, expected {len(COLUMNS)}")
    values: dict[str, str] = {}
    for column in COLUMNS:
        value = (record.get(column) or "").strip()
        if not value:
            raise _bad(path, line, f"empty {column}")
        values[column] = value
    zone = values["exchange_timezone"]
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # "America" is a directory: OSError
        raise _bad(path, line, f"exchange_timezone {zone!r} is not an IANA timezone") from exc
    if not _CURRENCY.fullmatch(values["currency"]):
        raise _bad(path, line, f"currency {values['currency']!r} is not 3 upper-case letters (ISO 4217)")
    try:
        base_price = float(values["base_price"])
        avg_volume = int(values["avg_volume"])
    except ValueError as exc:
        raise _bad(path, line, f"base_price or avg_volume is not a number: {exc}") from exc
    if not base_price > 0 or avg_volume <= 0:
        raise _bad(path, line, "base_price and avg_volume must be > 0")
    stock = Stock(**{column: values[column] for column in STOCK_COLUMNS})
    return _Row(stock, base_price, avg_volume)


def _bad(path: Path, line: int, problem: str) -> StockstreamError:
    """The error for a bad universe row."""
    return StockstreamError(f"{path}, line {line}: {problem}", hint="fix the row and load it again")
