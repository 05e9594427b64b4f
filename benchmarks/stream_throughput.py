"""Stream throughput: the full streaming job on a backlog beside Spark's own ceiling, same broker.

    .venv/bin/python benchmarks/stream_throughput.py [--days 20] [--trades 400] [--runs 3]

Starts its own broker in a temporary data root on free ports, extracts offline reference data of
the last --days weekdays, simulates their trades (53 tickers x --trades a day) and loads them into
a topic with Spark's Kafka sink. Then, --runs times each:

- **Spark ceiling**: Kafka source -> the JSON parsed once (silver's schema) -> noop sink.
- **stockstream stream**: `stockstream stream --available-now` on a fresh data root holding only
  the reference data: bronze, silver + quarantine + the daily gold tables, minute bars, alerts.

Both read the whole backlog with the job's settings (maxOffsetsPerTrigger, shuffle partitions).
Records/s is the backlog over the time from the first micro-batch's start to the last one's end
(ops.stream_progress and the query progress), so the JVM's start-up is left out of both.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stockstream.benchmarking import last_weekdays, machine
from stockstream.broker.admin import ensure_topic
from stockstream.broker.local import LocalBroker
from stockstream.chaos.airflow_faults import stockstream
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.extract import choose_source, extract
from stockstream.market.intraday import load_plan, transactions
from stockstream.services.process import free_port

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def load_backlog(spark: SparkSession, settings: Settings, days: list[date], scratch: Path) -> int:
    """The simulated trades of `days` into the settings' topic (key = ticker, value = the JSON
    record); returns how many."""
    import pandas as pd

    plan = load_plan(settings, days[0], days[-1])
    rows = [(txn.ticker, txn.to_json().decode()) for _, txn in transactions(plan, settings)]
    parquet = scratch / "backlog.parquet"
    pd.DataFrame(rows, columns=["key", "value"]).to_parquet(parquet, index=False)
    (
        spark.read.parquet(str(parquet))
        .write.format("kafka")
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("topic", settings.topic)
        .save()
    )
    return len(rows)


def ceiling(spark: SparkSession, settings: Settings, records: int, checkpoint: Path) -> float:
    """records/s of Kafka source -> parse -> noop over the whole topic."""
    from stockstream.pipeline.silver import parse
    from stockstream.pipeline.stream import kafka_source

    parsed = parse(kafka_source(spark, settings)).select("raw")
    query = (
        parsed.writeStream.format("noop")
        .option("checkpointLocation", str(checkpoint))
        .trigger(availableNow=True)
        .start()
    )
    query.awaitTermination()
    batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    seen = sum(p["numInputRows"] for p in batches)
    if seen != records:
        raise SystemExit(f"the ceiling query read {seen} records, the topic has {records}")
    return rate(
        records,
        [(_moment(p["timestamp"]), p["durationMs"].get("triggerExecution", 0)) for p in batches],
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rate(records: int, batches: list[tuple[datetime, int]]) -> float:
    """records over the span from the first batch's start to the last batch's end."""
    first = min(start for start, _ in batches)
    last = max(start + timedelta(milliseconds=ms) for start, ms in batches)
    return records / max((last - first).total_seconds(), 1e-3)


def ours(settings: Settings, records: int) -> tuple[float, dict[str, float]]:
    """records/s of `stockstream stream --available-now` over the whole topic, and the seconds
    each query spent in its micro-batches (they overlap: the queries run side by side)."""
    import pandas as pd

    from stockstream import lake
    from stockstream.completion import SILVER_QUERY
    from stockstream.tables import SILVER_TRANSACTIONS, STREAM_PROGRESS

    try:
        stockstream(settings, "stream", "--available-now", timeout=3600)
    except StockstreamError as exc:
        raise SystemExit(str(exc)) from None
    silver = len(lake.read(settings, SILVER_TRANSACTIONS, columns=["txn_id"]))
    if silver != records:
        raise SystemExit(f"silver has {silver} rows after the run, the topic {records} valid records")
    progress = lake.read(settings, STREAM_PROGRESS)
    progress = progress[progress["input_rows"] > 0]
    busy = (progress.groupby("query_name")["duration_ms"].sum() / 1000).to_dict()
    # A Kafka or Delta query's row is stamped when its trigger started; silver writes its own row
    # at the end of its batch.
    spans = [
        (
            pd.Timestamp(row.processed_at).to_pydatetime()
            - (
                timedelta(milliseconds=int(row.duration_ms))
                if row.query_name == SILVER_QUERY
                else timedelta()
            ),
            int(row.duration_ms),
        )
        for row in progress.itertuples()
    ]
    return rate(records, spans), {str(name): float(seconds) for name, seconds in busy.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=20, help="trading days in the backlog")
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 11, 20), help="last day")
    parser.add_argument("--trades", type=int, default=400, help="simulated trades per ticker and day")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    # SIGTERM (kill, a CI timeout) stops the broker and the stream too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if min(args.days, args.trades, args.runs) < 1:
        parser.error("--days, --trades and --runs must be at least 1")

    from stockstream.spark import spark_session

    scratch = Path(tempfile.mkdtemp(prefix="stockstream-streambench-"))
    settings = Settings(
        data_root=scratch / "reference",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        sim_trades_per_day=args.trades,
        source="offline",
        topic="backlog",
    )
    days = last_weekdays(args.end, args.days)
    broker = LocalBroker(settings)
    figures: dict[str, list[float]] = {"Spark ceiling (Kafka -> parse -> noop)": [], "stockstream stream": []}
    try:
        broker.start()
        ensure_topic(settings)
        spark = spark_session(settings, "stockstream-bench", long_running=True)
        extract(settings, days[0], days[-1], source=choose_source(settings, "offline"))
        loading = time.monotonic()
        records = load_backlog(spark, settings, days, scratch)
        print(
            f"# stream: {records:,} records ({len(days)} day(s) {days[0]}..{days[-1]}, 53 tickers x "
            f"{args.trades} trades) loaded in {time.monotonic() - loading:.0f}s; {machine()}; "
            f"spark {settings.spark_master}, {settings.spark_shuffle_partitions} shuffle partitions, "
            f"maxOffsetsPerTrigger {settings.max_offsets_per_trigger or 'unset'}",
            flush=True,
        )
        for run in range(1, args.runs + 1):
            top = ceiling(spark, settings, records, scratch / f"ceiling-{run}")
            figures["Spark ceiling (Kafka -> parse -> noop)"].append(top)
            instance = settings.model_copy(update={"data_root": scratch / f"run-{run}"})
            shutil.copytree(settings.lakehouse_dir, instance.lakehouse_dir)
            job, busy = ours(instance, records)
            figures["stockstream stream"].append(job)
            print(
                f"run {run}: ceiling {top:,.0f} records/s, stockstream stream {job:,.0f} records/s "
                "(seconds in micro-batches: "
                + ", ".join(f"{q} {s:.1f}" for q, s in sorted(busy.items()))
                + ")",
                flush=True,
            )
            shutil.rmtree(instance.data_root, ignore_errors=True)
        spark.stop()
    finally:
        broker.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    anchor = statistics.median(figures["Spark ceiling (Kafka -> parse -> noop)"])
    print()
    print("| variant | records/s (median) | runs | vs Spark's ceiling |")
    print("|---|---|---|---|")
    for name, values in figures.items():
        runs = ", ".join(f"{v:,.0f}" for v in values)
        median = statistics.median(values)
        print(f"| {name} | {median:,.0f} | {runs} | {median / anchor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
