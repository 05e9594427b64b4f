"""Memory: resident memory of every service of the platform, and the stream's state store, day by day.

    .venv/bin/python benchmarks/memory.py [--days 5] [--end 2026-11-20] [--trades 400]

Starts the whole platform as `stockstream up` does (broker, supervised stream, SQL engine,
dashboard, Airflow) in a temporary data root on free ports, and samples the resident memory (RSS)
of each service's whole process tree every 0.5 s in a thread: the broker's JVM; the stream's
supervisor, driver, Spark's JVM and its Python workers; the SQL engine's driver and JVM; the
dashboard; Airflow's four components and whatever
they spawn. Then it replays the last --days weekdays up to --end one after another (`extract`,
`replay --speed 0`, `wait` per day, each its own process) and, once the stateful queries
(minute_bars, alerts) have read everything silver holds, records the events so far, each
service's RSS and the size of their state stores on disk.

State store size = the files of each query's latest state version (its RocksDB checkpoint: the
SST files its metadata lists and the version's zip), summed over operators and partitions; keys =
the numKeys that metadata records. The folders also keep older versions (minBatchesToRetain), so
their whole size, printed after the table, grows with the number of batches up to that bound.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from stockstream import lake
from stockstream.benchmarking import cli, last_weekdays, machine
from stockstream.chaos.airflow_faults import platform_settings
from stockstream.chaos.pressure import RssWatch
from stockstream.completion import replayed_records
from stockstream.config import Settings
from stockstream.pipeline.drain import batch_log
from stockstream.services.manager import Platform
from stockstream.services.process import wait_until
from stockstream.tables import ALERTS, MINUTE_BARS, SILVER_TRANSACTIONS, table

SERVICES = ("broker", "stream", "sql engine", "Airflow", "dashboard")
STATEFUL = {"minute_bars": MINUTE_BARS, "alerts": ALERTS}
DELTA_END_INDEX = 2**63 - 1 - 100
"""Delta's source offset index for "the whole version was read" (DeltaSourceOffset.END_INDEX)."""
GROWTH = 1.5
"""The last day's state over the first day's above which the state store counts as growing."""
MIB = 2**20


@dataclass(frozen=True)
class StateSize:
    """A stateful query's state store: its latest version's bytes and keys, and every file kept."""

    latest_bytes: int
    keys: int
    on_disk_bytes: int


@dataclass(frozen=True)
class DayRow:
    """What was measured after a day was processed."""

    label: str
    events: int
    rss: dict[str, tuple[int, int]]  # service -> (now, peak so far), bytes
    state: dict[str, StateSize]


def service_pids(services: Platform) -> dict[str, Callable[[], list[int]]]:
    """Service -> the root pids of its process trees, read from the pid files on each call."""

    def one(pid: int | None) -> list[int]:
        return [] if pid is None else [pid]

    return {
        "broker": lambda: one(services.broker.process.pid()),
        "stream": lambda: one(services.stream.process.pid()),
        "sql engine": lambda: one(services.sql.process.pid()),
        "Airflow": lambda: [p for c in services.airflow.components.values() if (p := c.pid()) is not None],
        "dashboard": lambda: one(services.dashboard.process.pid()),
    }


def state_size(checkpoint: Path) -> StateSize:
    """The state store of the query checkpointing in `checkpoint` (zeros before it has any)."""
    latest, keys, on_disk = 0, 0, 0
    state = checkpoint / "state"
    if not state.is_dir():
        return StateSize(0, 0, 0)
    on_disk = sum(f.stat().st_size for f in state.rglob("*") if f.is_file())
    # state/<operator>/<partition>/<version>.zip, its SSTs in <partition>/SSTs/.
    for partition in state.glob("*/*"):
        versions = [(int(z.name.split(".")[0].split("_")[0]), z) for z in partition.glob("[0-9]*.zip")]
        if not versions:
            continue
        _, newest = max(versions)
        with zipfile.ZipFile(newest) as archive:
            metadata = json.loads(archive.read("metadata").decode().splitlines()[1])
        latest += newest.stat().st_size + sum(int(sst["sizeBytes"]) for sst in metadata["sstFiles"])
        keys += int(metadata.get("numKeys", 0))
    return StateSize(latest, keys, on_disk)


def read_through(checkpoint: Path) -> int | None:
    """The last silver version a Delta-sourced query has fully processed (committed), or None."""
    book = batch_log(checkpoint)
    if book.started is None or book.in_flight is not None:
        return None
    offset = json.loads((checkpoint / "offsets" / str(book.started)).read_text().splitlines()[-1])
    version = int(offset["reservoirVersion"])
    return version if int(offset["index"]) >= DELTA_END_INDEX else version - 1


def wait_stateful(settings: Settings, timeout: float = 900) -> None:
    """Wait until minute_bars and alerts have committed a batch that read silver's latest version."""
    target = lake.version(settings, SILVER_TRANSACTIONS)
    checkpoints = [table(name).checkpoint(settings) for name in STATEFUL.values()]

    def caught_up() -> bool:
        through = [read_through(c) for c in checkpoints]
        return target is not None and all(v is not None and v >= target for v in through)

    if not wait_until(caught_up, timeout, interval=1.0):
        raise SystemExit(f"minute_bars and alerts did not read silver version {target} in {timeout:.0f}s")


def measure(settings: Settings, watch: RssWatch, label: str, events: int) -> DayRow:
    """One row of the table: the services' RSS now and at their peak, the state stores."""
    now, peak = watch.snapshot()
    return DayRow(
        label=label,
        events=events,
        rss={name: (now[name], peak[name]) for name in SERVICES},
        state={name: state_size(table(spec).checkpoint(settings)) for name, spec in STATEFUL.items()},
    )


def row_text(row: DayRow) -> str:
    rss = " | ".join(f"{row.rss[s][0] / MIB:,.0f} / {row.rss[s][1] / MIB:,.0f}" for s in SERVICES)
    state = ", ".join(f"{row.state[q].latest_bytes / 1024:,.1f}" for q in STATEFUL)
    keys = ", ".join(f"{row.state[q].keys:,}" for q in STATEFUL)
    return f"| {row.label} | {row.events:,} | {rss} | {state} | {keys} |"


def verdict(rows: list[DayRow]) -> str:
    """Whether the state store grew with the days: the last day's size against the first's."""
    if len(rows) < 2:
        return "verdict: one day only, nothing to compare the state store with (run --days 2 or more)"
    first, last = rows[0], rows[-1]
    size = [sum(s.latest_bytes for s in r.state.values()) for r in (first, last)]
    keys = [sum(s.keys for s in r.state.values()) for r in (first, last)]
    ratio = size[1] / size[0] if size[0] else float("inf")
    events = last.events / first.events if first.events else float("inf")
    grew = ratio > GROWTH
    return (
        f"verdict: the state store {'GREW with history' if grew else 'stayed bounded'}: "
        f"{size[0] / 1024:,.1f} KiB after {first.label}, {size[1] / 1024:,.1f} KiB after {last.label} "
        f"(x{ratio:.2f}; keys {keys[0]:,} -> {keys[1]:,}) while the events grew x{events:.2f}"
    )


def report(idle: DayRow, rows: list[DayRow], watch: RssWatch, interval: float) -> None:
    """The day table, the state folders' whole size, the peaks per service and the verdict."""
    rss_head = " | ".join(f"{s} RSS MiB (now / peak)" for s in SERVICES)
    print()
    state_head = "state store KiB (minute_bars, alerts) | state keys (minute_bars, alerts)"
    print(f"| day | events so far | {rss_head} | {state_head} |")
    print("|---|" + "---|" * (len(SERVICES) + 3))
    for row in [idle, *rows]:
        print(row_text(row))
    print()
    print(
        "state store = the latest version's files of each stateful query (RocksDB SSTs + the version's "
        "zip), all partitions; on disk with every version kept: "
        + ", ".join(
            f"{r.label} {sum(s.on_disk_bytes for s in r.state.values()) / 1024:,.0f} KiB" for r in rows
        )
    )
    print()
    print("| service | peak RSS MiB | final RSS MiB | processes |")
    print("|---|---|---|---|")
    for name in SERVICES:
        print(
            f"| {name} | {watch.peak[name] / MIB:,.0f} | {watch.last[name] / MIB:,.0f} | "
            f"{watch.processes[name]} |"
        )
    total_now = sum(watch.last.values())
    print(
        f"| all services (peak of the sum) | {watch.peak_total / MIB:,.0f} | {total_now / MIB:,.0f} | "
        f"{sum(watch.processes.values())} |"
    )
    print(f"({watch.samples} samples every {interval:g}s)")
    print()
    print(verdict(rows))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=5, help="trading days to replay, one after another")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20), help="last day")
    parser.add_argument("--trades", type=int, default=400, help="simulated trades per ticker and day")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between RSS samples")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a scratch one)")
    args = parser.parse_args()
    # SIGTERM (kill, a CI timeout) stops the services too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.days < 1 or args.trades < 1 or args.interval <= 0:
        parser.error("--days and --trades must be at least 1, --interval above 0")

    root = args.keep or Path(tempfile.mkdtemp(prefix="stockstream-memory-"))
    settings = platform_settings(root, sim_trades_per_day=args.trades)
    days = last_weekdays(args.end, args.days)
    print(
        f"# memory: {len(days)} day(s) {days[0]}..{days[-1]}, 53 tickers x {args.trades} trades; "
        f"{machine()}; broker heap {settings.kafka_heap}, "
        f"spark {settings.spark_master} driver memory {settings.spark_driver_memory}, "
        f"Airflow parallelism {settings.airflow_parallelism}",
        flush=True,
    )
    services = Platform(settings)
    watch = RssWatch(service_pids(services), interval=args.interval, name="memory-watch")
    rows: list[DayRow] = []
    try:
        watch.start()
        started = time.monotonic()
        services.up()
        watch.sample()
        idle = measure(settings, watch, "started", 0)
        print(f"platform up in {time.monotonic() - started:.0f}s", flush=True)
        events = 0
        for day in days:
            iso = day.isoformat()
            cli(settings, "extract", "--start", iso, "--end", iso, "--source", "offline")
            cli(settings, "replay", "--start", iso, "--end", iso, "--speed", "0")
            cli(settings, "wait", "--date", iso, "--timeout", "900")
            wait_stateful(settings)
            events += replayed_records(settings, day)
            silver = len(lake.read(settings, SILVER_TRANSACTIONS, columns=["txn_id"]))
            if silver != events:
                raise SystemExit(f"silver holds {silver} rows after {day}, the replays published {events}")
            watch.sample()
            rows.append(measure(settings, watch, iso, events))
            now = {name: f"{rss[0] / MIB:,.0f}" for name, rss in rows[-1].rss.items()}
            print(f"{iso}: {events:,} events; RSS MiB now {now}", flush=True)
        watch.stop()
    finally:
        watch.stop()
        services.down()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    report(idle, rows, watch, args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
