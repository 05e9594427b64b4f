"""What the scripts under benchmarks/ share: the machine line their results carry, and running one
`stockstream ...` step the way Airflow's tasks do (its own process), ending the benchmark with the
step's message when it fails."""

from __future__ import annotations

import csv
import os
import platform
from datetime import date, timedelta
from pathlib import Path

from stockstream.chaos.airflow_faults import stockstream
from stockstream.config import Settings
from stockstream.errors import StockstreamError

STEP_TIMEOUT = 1800.0
"""Seconds one CLI step may take."""
DAY_STAGES = ("extract", "replay", "stream", "finalize", "render")
"""The stages of a trading day in day_cost.py's table, in its column order (scaling.py parses it)."""


def machine() -> str:
    """Platform, architecture, cores, memory, Python and today's date, for a result's header."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, {memory:.1f} GiB, "
        f"Python {platform.python_version()}, {date.today()}"
    )


def last_weekdays(end: date, count: int) -> list[date]:
    """The last `count` weekdays up to `end` (inclusive), oldest first: the days a benchmark runs."""
    from stockstream.market.sources import business_days

    return business_days(end - timedelta(days=7 * count), end)[-count:]


def cli(settings: Settings, *args: str, timeout: float = STEP_TIMEOUT) -> str:
    """The output of one `stockstream ...` run for `settings`; exits with the output's tail when
    it fails."""
    try:
        return stockstream(settings, *args, timeout=timeout)
    except StockstreamError as exc:
        raise SystemExit(str(exc)) from None


def universe_of(tickers: int, path: Path) -> Path:
    """A universe CSV of `tickers` stocks at `path`: the packaged universe's first ones, or all of
    it and then copies of its rows under new tickers (AAPL-2, MSFT-2, ..., AAPL-3, ...), each copy
    with its own simulated prices (the simulator seeds by ticker) and its original's profile."""
    from stockstream.market.reference import COLUMNS, UNIVERSE_CSV

    if tickers < 1:
        raise ValueError("a universe needs at least one ticker")
    with UNIVERSE_CSV.open(encoding="utf-8", newline="") as handle:
        packaged = list(csv.DictReader(handle))
    rows = []
    for i in range(tickers):
        row = dict(packaged[i % len(packaged)])
        copy = i // len(packaged) + 1
        if copy > 1:
            row["ticker"] = f"{row['ticker']}-{copy}"
            row["name"] = f"{row['name']} (copy {copy})"
        rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path
