"""Replay throughput: stockstream's replay beside Kafka's own ProducerPerformance, same broker,
same record count and size, same producer settings (acks=all, idempotent, gzip, linger 20 ms,
batch 512 KiB).

    .venv/bin/python benchmarks/replay_throughput.py [--day 2026-11-20] [--trades 400] [--runs 3]

Starts its own broker in a temporary data root on free ports, replays one full trading day of
the universe (every ticker, --trades trades each) several times per variant on fresh topics,
and prints the median records/s of each with its ratio to Kafka's tool. "stockstream replay" is
what `stockstream replay --speed 0` runs after reading the bars: simulate every trade, merge them by
event time, encode, publish with one confluent-kafka producer and book each day's offsets.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import confluent_kafka

from stockstream.broker.admin import ensure_topic
from stockstream.broker.local import LocalBroker, java_executable
from stockstream.config import Settings
from stockstream.jars import module_jars
from stockstream.market.day_replay import publish_plan
from stockstream.market.intraday import DayPlan, transactions
from stockstream.market.reference import load_universe, reference_profile
from stockstream.market.sources import OfflineSource
from stockstream.services.process import free_port


def day_plan(day: date) -> DayPlan:
    universe = load_universe()
    source = OfflineSource(universe, {s.ticker: reference_profile(s.ticker) for s in universe})
    bars = source.daily_bars([s.ticker for s in universe], day, day)
    return DayPlan(bars=bars, stocks={s.ticker: s for s in universe}, skipped=[])


def kafka_tool(settings: Settings, topic: str, records: int, size: int) -> float:
    """records/s that ProducerPerformance reports for the same load."""
    classpath = ":".join(str(jar) for jar in module_jars(settings, "tools"))
    argv = [
        java_executable(), "-Xmx512m", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance",
        "--topic", topic, "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
        "--producer-props", f"bootstrap.servers={settings.bootstrap_servers}", "acks=all",
        "enable.idempotence=true", "linger.ms=20", "batch.size=524288", "compression.type=gzip",
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
    totals = [line for line in out.splitlines() if f"{records} records sent" in line]
    match = re.search(r"([\d.]+) records/sec", totals[-1]) if totals else None
    if match is None:
        raise RuntimeError(f"unexpected ProducerPerformance output:\n{out[-2000:]}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 20))
    parser.add_argument("--trades", type=int, default=400, help="simulated trades per ticker")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="stockstream-bench-"))
    settings = Settings(
        data_root=root,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        sim_trades_per_day=args.trades,
        kafka_heap="512m",
    )
    plan = day_plan(args.day)
    records = [txn.to_json() for _, txn in transactions(plan, settings)]
    count, size = len(records), round(statistics.mean(len(r) for r in records))
    broker = LocalBroker(settings)
    broker.start()
    results: dict[str, list[float]] = {
        "kafka ProducerPerformance": [],
        "stockstream replay": [],
    }
    try:
        for run in range(args.runs):
            for name, rates in results.items():
                topic = f"bench-{run}-{re.sub(r'[^a-z]', '', name)}"
                ensure_topic(settings, topic=topic)
                target = settings.model_copy(update={"topic": topic})
                if name.startswith("kafka"):
                    rate = kafka_tool(settings, topic, count, size)
                else:
                    started = time.monotonic()
                    report = publish_plan(target, plan)
                    assert report.sent == count, (report.sent, count)
                    rate = count / (time.monotonic() - started)
                rates.append(rate)
                print(f"run {run + 1}/{args.runs} {name}: {rate:,.0f} records/s", file=sys.stderr)
    finally:
        broker.stop()

    anchor = statistics.median(results["kafka ProducerPerformance"])
    print(f"\nReplay of one trading day ({args.day}): {len(plan.bars)} tickers x {args.trades} trades = "
          f"{count:,} records of {size} bytes (median of {args.runs} runs)")  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
          f"python {platform.python_version()}; confluent-kafka {confluent_kafka.version()} "
          f"(librdkafka {confluent_kafka.libversion()[0]})\n")  # fmt: skip
    print("| variant | records/s (median) | runs | vs Kafka's tool |")
    print("|---|---|---|---|")
    for name, rates in results.items():
        median = statistics.median(rates)
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"| {name} | {median:,.0f} | {runs} | {median / anchor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
