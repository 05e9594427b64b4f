"""Scaling: how one trading day's cost grows with tickers and trades, and a backfill's with days.

    .venv/bin/python benchmarks/scaling.py [--tickers 53,106,212] [--ticker-trades 400]
        [--trades 400,800,1600] [--days-each 2] [--backfill-days 20] [--end 2026-11-20]

- **tickers**: benchmarks/day_cost.py for each count of tickers (--ticker-trades a ticker), --days-each
  weekdays up to --end, each count on a broker, stream and data root of its own (started before
  the clock). Counts above the packaged 53 add copies of its rows under new tickers.
- **trades**: the same for each count of trades per ticker and day (53 tickers; a size the
  tickers series ran already is not run again).
- **backfill**: the whole platform as `stockstream up` starts it (Airflow included), then one
  `stockstream backfill` of the --backfill-days weekdays up to --end through Airflow's market_day
  DAG, timed from the command to its summary (the command fails unless every run succeeded).

Each size prints its records, its median day's seconds (and per stage), records/s, and how time
grew against data from the smallest size (linear = the two ratios equal).
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from stockstream.benchmarking import DAY_STAGES as STAGES
from stockstream.benchmarking import cli, last_weekdays, machine
from stockstream.chaos.airflow_faults import platform_settings
from stockstream.services.manager import Platform

DAY_COST = Path(__file__).parent / "day_cost.py"
MEDIAN = re.compile(r"^\| median \| ([\d. |]+) \|$", re.M)
RECORDS = re.compile(r"^\d{4}-\d{2}-\d{2}: [\d.]+s \(.*\), ([\d,]+) records$", re.M)


def counts(text: str) -> list[int]:
    """'53,106,212' -> [53, 106, 212]; an empty text -> []."""
    values = [int(part) for part in text.split(",") if part.strip()]
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"counts must be at least 1, got {text}")
    return values


def day_cost(tickers: int, trades: int, days: int, end: date) -> tuple[int, dict[str, float]]:
    """Median records and seconds per stage (and total) of day_cost.py at this size."""
    argv = [sys.executable, str(DAY_COST), "--days", str(days), "--end", end.isoformat()]
    argv += ["--trades", str(trades), "--tickers", str(tickers)]
    # Its lines are shown as they come (a size takes minutes), indented, and kept to be parsed.
    lines = []
    with subprocess.Popen(  # noqa: S603
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            lines.append(line)
            print(f"    {line}", end="", flush=True)
    said = "".join(lines)
    median = MEDIAN.search(said)
    records = [int(r.replace(",", "")) for r in RECORDS.findall(said)]
    if child.returncode != 0 or median is None or len(records) != days:
        raise SystemExit(f"day_cost.py {' '.join(argv[2:])} failed (its output is above)")
    seconds = dict(zip([*STAGES, "total"], map(float, median.group(1).split(" | ")), strict=True))
    return sorted(records)[len(records) // 2], seconds


def size_rows(label: str, sizes: list[tuple[int, int, dict[str, float]]]) -> list[str]:
    """A markdown table of (size, records, seconds) with growth against the first size."""
    lines = [
        f"| {label} | records | day (s) | " + " | ".join(STAGES) + " | records/s | x data | x time |",
        "|---|" + "---|" * (len(STAGES) + 5),
    ]
    base_records, base_seconds = sizes[0][1], sizes[0][2]["total"]
    for size, records, seconds in sizes:
        stages = " | ".join(f"{seconds[s]:.1f}" for s in STAGES)
        lines.append(
            f"| {size} | {records:,} | {seconds['total']:.1f} | {stages} | {records / seconds['total']:,.0f} "
            f"| {records / base_records:.2f} | {seconds['total'] / base_seconds:.2f} |"
        )
    return lines


def backfill(days: list[date], trades: int) -> tuple[float, float, str]:
    """Seconds to start the platform and of one `stockstream backfill` of `days` through Airflow,
    and the command's per-day summary (each run's duration, checks and gold rows)."""
    root = Path(tempfile.mkdtemp(prefix="stockstream-scaling-"))
    settings = platform_settings(root, sim_trades_per_day=trades)
    services = Platform(settings)
    try:
        started = time.monotonic()
        services.up()
        up = time.monotonic() - started
        started = time.monotonic()
        said = cli(settings, "backfill", "--start", days[0].isoformat(), "--end", days[-1].isoformat())
        took = time.monotonic() - started
        lines = said.splitlines()
        # The per-day summary table (titled "backfill of ..."), without the progress lines.
        start = max((i for i, line in enumerate(lines) if "backfill of" in line), default=len(lines))
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("└")), len(lines) - 1)
        return up, took, "\n".join(lines[start : end + 1])
    finally:
        services.down()
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--tickers", type=counts, default=[53, 106, 212], help="ticker counts (comma-separated)"
    )
    parser.add_argument(
        "--ticker-trades", type=int, default=400, help="trades per ticker of the tickers series"
    )
    parser.add_argument(
        "--trades", type=counts, default=[400, 800, 1600], help="trades per ticker and day (comma-separated)"
    )
    parser.add_argument("--days-each", type=int, default=2, help="days day_cost.py runs per size (median)")
    parser.add_argument(
        "--backfill-days", type=int, default=20, help="weekdays of the Airflow backfill (0: none)"
    )
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20), help="last day")
    args = parser.parse_args()
    # SIGTERM (kill, a CI timeout) stops the services too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.days_each < 1 or args.ticker_trades < 1 or args.backfill_days < 0:
        parser.error("--days-each and --ticker-trades must be at least 1, --backfill-days at least 0")
    print(f"# scaling: {machine()}", flush=True)

    by_tickers = []
    for tickers in args.tickers:
        records, seconds = day_cost(tickers, args.ticker_trades, args.days_each, args.end)
        by_tickers.append((tickers, records, seconds))
        print(
            f"{tickers} tickers x {args.ticker_trades} trades: {records:,} records "
            f"in {seconds['total']:.1f}s",
            flush=True,
        )
    by_trades = []
    for trades in args.trades:
        known = [row for row in by_tickers if row[0] == 53] if trades == args.ticker_trades else []
        records, seconds = known[0][1:] if known else day_cost(53, trades, args.days_each, args.end)
        by_trades.append((trades, records, seconds))
        print(f"53 tickers x {trades} trades: {records:,} records in {seconds['total']:.1f}s", flush=True)
    filled = None
    if args.backfill_days:
        days = last_weekdays(args.end, args.backfill_days)
        up, took, summary = backfill(days, 400)
        filled = (days, up, took)
        print(summary, flush=True)
        print(f"backfill of {len(days)} days: {took:.0f}s (platform up in {up:.0f}s)", flush=True)

    print()
    if by_tickers:
        print("\n".join(size_rows(f"tickers (x {args.ticker_trades} trades)", by_tickers)))
        print()
    if by_trades:
        print("\n".join(size_rows("trades (x 53 tickers)", by_trades)))
        print()
    if filled is not None:
        days, up, took = filled
        print(
            f"backfill through Airflow: {len(days)} days {days[0]}..{days[-1]}, 53 tickers x 400 trades: "
            f"{took:.0f}s, {took / len(days):.1f}s a day (platform up beforehand in {up:.0f}s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
