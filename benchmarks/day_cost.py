"""Day cost: one trading day end to end, stage by stage, as the market_day DAG runs it.

    .venv/bin/python benchmarks/day_cost.py [--days 3] [--end 2026-11-20] [--trades 400] [--tickers 53]

Starts its own broker and supervised stream (the defaults of `stockstream up`) in a temporary
data root on free ports, then for each of the last --days weekdays up to --end runs the CLI
steps one after the other, each in its own process as Airflow's tasks do: `extract`,
`replay --speed 0`, `wait` (until the stream has the day), `finalize`, `render`. It prints each
day's seconds per stage and records, the median day, and the finaliser's own phases.

--tickers other than the packaged universe's 53 runs on a universe of that many: its first ones,
or all of them and copies under new tickers (AAPL-2, ...), each with its own simulated trades.
benchmarks/scaling.py runs this script for several sizes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from stockstream.benchmarking import DAY_STAGES as STAGES
from stockstream.benchmarking import cli as run_step
from stockstream.benchmarking import last_weekdays, machine, universe_of
from stockstream.broker.admin import ensure_topic
from stockstream.broker.local import LocalBroker
from stockstream.completion import replayed_records
from stockstream.config import Settings
from stockstream.services.process import free_port
from stockstream.services.stream import StreamService

PHASES = re.compile(r"took: recompute ([\d.]+)s, checks ([\d.]+)s")


def cli(settings: Settings, *args: str) -> tuple[float, str]:
    """Seconds one `stockstream ...` takes, and its output; exits with the output's tail on failure."""
    started = time.monotonic()
    output = run_step(settings, *args)
    return time.monotonic() - started, output


def run_day(settings: Settings, day: date) -> dict[str, float]:
    """Seconds of each stage of one day, and the finaliser's phases."""
    iso = day.isoformat()
    times: dict[str, float] = {}
    times["extract"], _ = cli(settings, "extract", "--start", iso, "--end", iso, "--source", "offline")
    times["replay"], _ = cli(settings, "replay", "--start", iso, "--end", iso, "--speed", "0")
    times["stream"], _ = cli(settings, "wait", "--date", iso, "--timeout", "900")
    times["finalize"], out = cli(settings, "finalize", "--date", iso)
    times["render"], _ = cli(settings, "render", "--start", iso, "--end", iso)
    phases = PHASES.search(out)
    if phases is not None:
        times["finalize: recompute"], times["finalize: checks"] = map(float, phases.groups())
    return times


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=3, help="trading days to run, one after another")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20), help="last day")
    parser.add_argument("--trades", type=int, default=400, help="simulated trades per ticker and day")
    parser.add_argument(
        "--tickers", type=int, default=53, help="tickers in the universe (53: the packaged one)"
    )
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a scratch one)")
    args = parser.parse_args()
    # SIGTERM (kill, a CI timeout) stops the broker and the stream too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.days < 1 or args.trades < 1 or args.tickers < 1:
        parser.error("--days, --trades and --tickers must be at least 1")

    root = args.keep or Path(tempfile.mkdtemp(prefix="stockstream-daycost-"))
    settings = Settings(
        data_root=root,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        sim_trades_per_day=args.trades,
        source="offline",
        start_timeout=300,
        universe_file=None if args.tickers == 53 else universe_of(args.tickers, root / "universe.csv"),
    )
    days = last_weekdays(args.end, args.days)
    print(
        f"# day cost: {len(days)} day(s) {days[0]}..{days[-1]}, {args.tickers} tickers x {args.trades} "
        f"trades; {machine()}",
        flush=True,
    )
    broker = LocalBroker(settings)
    stream = StreamService(settings)
    rows: list[dict[str, float]] = []
    try:
        broker.start()
        ensure_topic(settings)
        stream.start()
        for day in days:
            rows.append(run_day(settings, day))
            total = sum(rows[-1][stage] for stage in STAGES)
            stages = ", ".join(f"{s} {rows[-1][s]:.1f}s" for s in STAGES)
            print(f"{day}: {total:.1f}s ({stages}), {replayed_records(settings, day):,} records", flush=True)
    finally:
        stream.stop()
        broker.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    columns = [*STAGES, "total"]
    for row in rows:
        row["total"] = sum(row[stage] for stage in STAGES)
    print()
    print("| day | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for day, row in zip(days, rows, strict=True):
        print(f"| {day} | " + " | ".join(f"{row[c]:.1f}" for c in columns) + " |")
    print("| median | " + " | ".join(f"{statistics.median(r[c] for r in rows):.1f}" for c in columns) + " |")
    phases = [p for p in ("finalize: recompute", "finalize: checks") if all(p in r for r in rows)]
    if phases:
        print()
        print("finaliser phases (median): " + ", ".join(
            f"{p.split(': ')[1]} {statistics.median(r[p] for r in rows):.1f}s" for p in phases
        ))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
