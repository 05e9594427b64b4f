"""The streaming job's wiring: four queries, each with its own checkpoint.

- bronze: Kafka -> bronze.transactions (Delta sink: exactly once by itself).
- silver: bronze (Delta stream) -> foreachBatch: validate, silver.quarantine (append with
  txnAppId), silver.transactions (the txn_ids it does not hold yet for the batch's trade dates,
  appended with txnAppId), the daily gold tables of the touched days (rebuilt from silver, only
  changed days rewritten, by delta-rs), its ops.stream_progress row (appended by delta-rs with the
  same txn action). Every write is a no-op when a batch is retried.
- minute_bars: silver (Delta stream) -> 1-minute windows closed by a watermark -> MERGE.
- alerts: silver (Delta stream) -> per-ticker pattern detection (applyInPandasWithState) ->
  insert-only MERGE on alert_id.

SIGTERM or Ctrl-C stops the job at a batch boundary (pipeline/drain.py): each query finishes the
micro-batch it is in and starts no other, within settings.stream_drain_timeout.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as F

from stockstream.broker.security import spark_kafka_options
from stockstream.completion import SILVER_QUERY, processed_offsets
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.pipeline import gold
from stockstream.pipeline.alerts import Params, detect_alerts
from stockstream.pipeline.bronze import to_bronze
from stockstream.pipeline.daily import write_daily_gold, write_minute_bars
from stockstream.pipeline.data_loss import check_data_loss, mentions_data_loss
from stockstream.pipeline.drain import Drainable, ForeachBatchTracker, QueryStop, drain
from stockstream.pipeline.progress import (
    ProgressListener,
    progress_row,
    write_progress,
    write_status,
)
from stockstream.pipeline.silver import first_per_txn, quarantine_records, valid_records, validate
from stockstream.pipeline.writes import append_new, append_once, append_rows, checkpoint_app_id, insert_new
from stockstream.signals import StopRequest
from stockstream.spark import spark_session
from stockstream.tables import (
    ACTION_DAILY,
    ALERTS,
    BRONZE_TRANSACTIONS,
    COUNTRY_DAILY,
    DIM_STOCK,
    INDUSTRY_DAILY,
    MINUTE_BARS,
    SILVER_QUARANTINE,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    STREAM_PROGRESS,
    TECH_DAILY,
    table,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming.query import StreamingQuery

log = logging.getLogger(__name__)

STREAM_TABLES = (
    BRONZE_TRANSACTIONS,
    DIM_STOCK,
    SILVER_TRANSACTIONS,
    SILVER_QUARANTINE,
    STOCK_DAILY,
    INDUSTRY_DAILY,
    COUNTRY_DAILY,
    TECH_DAILY,
    ACTION_DAILY,
    MINUTE_BARS,
    ALERTS,
    STREAM_PROGRESS,
)
HEARTBEAT_SECONDS = 5
POLL_SECONDS = 0.25
"""How often the job's main thread looks for a stop request (a signal only sets a flag)."""
STAGES = ("bronze", "silver", "minute_bars", "alerts")
STAGE_TABLES = {
    "bronze": BRONZE_TRANSACTIONS,
    "silver": SILVER_TRANSACTIONS,
    "minute_bars": MINUTE_BARS,
    "alerts": ALERTS,
}
"""The table whose checkpoint each query keeps."""
FOREACH_BATCH_STAGES = ("silver", "minute_bars", "alerts")


@dataclass
class StreamSummary:
    """What one run of the job processed."""

    batches: int = 0
    input_rows: int = 0
    per_query: dict[str, int] = field(default_factory=dict)


# --- sources -------------------------------------------------------------------------------------


def kafka_source(spark: SparkSession, settings: Settings) -> DataFrame:
    """The transactions topic from the earliest offset; data loss (retention overtaking the
    stream) fails the query loudly instead of skipping records."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "true")
        .options(**spark_kafka_options(settings))
    )
    if settings.max_offsets_per_trigger is not None:
        reader = reader.option("maxOffsetsPerTrigger", str(settings.max_offsets_per_trigger))
    return reader.load()


def delta_source(spark: SparkSession, settings: Settings, name: str) -> DataFrame:
    """A lakehouse table as a stream of its appends (silver is only ever appended to)."""
    return spark.readStream.format("delta").load(str(table(name).path(settings)))


def _trigger(writer: Any, settings: Settings, available_now: bool) -> Any:
    return (
        writer.trigger(availableNow=True)
        if available_now
        else writer.trigger(processingTime=settings.trigger_interval)
    )


def _foreach_batch(
    writer: Any, name: str, function: Callable[[Any, int], None], tracker: ForeachBatchTracker | None
) -> Any:
    return writer.foreachBatch(tracker.track(name, function) if tracker is not None else function)


# --- bronze --------------------------------------------------------------------------------------


def start_bronze(spark: SparkSession, settings: Settings, available_now: bool) -> StreamingQuery:
    """Kafka -> bronze.transactions: exactly once through the Delta sink and its checkpoint."""
    bronze = table(BRONZE_TRANSACTIONS)
    writer = (
        to_bronze(kafka_source(spark, settings))
        .writeStream.format("delta")
        .outputMode("append")
        .queryName("bronze")
        .option("checkpointLocation", str(bronze.checkpoint(settings)))
    )
    query: StreamingQuery = _trigger(writer, settings, available_now).start(str(bronze.path(settings)))
    return query


# --- silver and daily gold ----------------------------------------------------------------------


class SilverBatch:
    """foreachBatch of the silver query: every write idempotent on a retried batch id."""

    def __init__(self, settings: Settings, on_offsets: Any = None) -> None:
        self.settings = settings
        self.checkpoint = table(SILVER_TRANSACTIONS).checkpoint(settings)
        self.on_offsets = on_offsets

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started = time.monotonic()
        spark = batch.sparkSession
        settings = self.settings
        app_id = checkpoint_app_id(self.checkpoint, SILVER_QUERY)
        # Read per batch: a refreshed reference.dim_stock is picked up without a restart.
        dim = table(DIM_STOCK).read(spark, settings)
        validated = validate(batch, dim).persist()
        try:
            # One small aggregate of the cached batch: its partitions' offsets and counts, and the
            # trade dates of its valid records.
            per_partition = (
                validated.groupBy("topic", "partition")
                .agg(
                    F.max("offset").alias("last"),
                    F.count(F.lit(1)).alias("rows"),
                    F.count(F.when(F.col("reason").isNull(), 1)).alias("valid"),
                    F.collect_set(F.when(F.col("reason").isNull(), F.col("trade_date"))).alias("dates"),
                )
                .collect()
            )
            rows = sum(int(r["rows"]) for r in per_partition)
            if rows == 0:
                return  # e.g. a bronze commit without data: nothing to write, not even progress
            valid_rows = sum(int(r["valid"]) for r in per_partition)
            valid = valid_records(validated)
            dates: list[date] = sorted({day for r in per_partition for day in r["dates"]})
            if valid_rows < rows:  # none rejected: no empty commit (a retry has the same records)
                append_once(
                    quarantine_records(validated), table(SILVER_QUARANTINE).path(settings), app_id, batch_id
                )
            validated_at = time.monotonic()
            inserted = append_new(
                spark,
                table(SILVER_TRANSACTIONS).path(settings),
                first_per_txn(valid),
                "txn_id",
                dates,
                app_id=app_id,
                version=batch_id,
            )
            silver_at = time.monotonic()
            write_daily_gold(spark, settings, dates)
            gold_at = time.monotonic()
            offsets = {int(r["partition"]): int(r["last"]) + 1 for r in per_partition}
            topic = per_partition[0]["topic"] if per_partition else settings.topic
            progress = {
                "query_name": SILVER_QUERY,
                "batch_id": batch_id,
                "run_id": None,
                "topic": topic,
                "end_offsets": offsets,
                "input_rows": rows,
                "valid_rows": valid_rows,
                "quarantined_rows": rows - valid_rows,
                "duplicate_rows": valid_rows - inserted,
                "input_rows_per_second": None,
                "processed_rows_per_second": None,
                "duration_ms": int((time.monotonic() - started) * 1000),
                "watermark": None,
                "processed_at": datetime.now(UTC).replace(tzinfo=None),
            }
            append_rows(table(STREAM_PROGRESS).path(settings), [progress], app_id=app_id, version=batch_id)
            if self.on_offsets is not None:
                self.on_offsets(offsets)
            log.info(
                "silver batch %d: %d records, %d quarantined, %d new, days %s in %.1fs "
                "(validate+quarantine %.1fs, silver %.1fs, gold %.1fs)",
                batch_id,
                rows,
                rows - valid_rows,
                inserted,
                ", ".join(d.isoformat() for d in sorted(dates)) or "-",
                time.monotonic() - started,
                validated_at - started,
                silver_at - validated_at,
                gold_at - silver_at,
            )
        finally:
            validated.unpersist()


def start_silver(
    spark: SparkSession,
    settings: Settings,
    available_now: bool,
    on_offsets: Any = None,
    tracker: ForeachBatchTracker | None = None,
) -> StreamingQuery:
    """bronze -> silver, quarantine and the daily gold tables (foreachBatch)."""
    writer = (
        delta_source(spark, settings, BRONZE_TRANSACTIONS)
        .writeStream.queryName(SILVER_QUERY)
        .option("checkpointLocation", str(table(SILVER_TRANSACTIONS).checkpoint(settings)))
    )
    writer = _foreach_batch(writer, SILVER_QUERY, SilverBatch(settings, on_offsets), tracker)
    query: StreamingQuery = _trigger(writer, settings, available_now).start()
    return query


# --- live queries: minute bars and alerts -----------------------------------------------------------


def _batch_dates(frame: DataFrame) -> list[date]:
    return [row[0] for row in frame.select("trade_date").distinct().collect()]


def start_minute_bars(
    spark: SparkSession, settings: Settings, available_now: bool, tracker: ForeachBatchTracker | None = None
) -> StreamingQuery:
    """silver -> gold.minute_bars: 1-minute event-time windows, emitted once the watermark
    (settings.minute_bar_watermark) closes them, merged on (ticker, window_start)."""
    live = delta_source(spark, settings, SILVER_TRANSACTIONS).withWatermark(
        "event_time", settings.minute_bar_watermark
    )

    def write(bars: DataFrame, batch_id: int) -> None:
        bars = bars.persist()
        try:
            write_minute_bars(bars.sparkSession, settings, bars, _batch_dates(bars), complete=False)
        finally:
            bars.unpersist()

    writer = (
        gold.minute_bars(live)
        .writeStream.queryName("minute_bars")
        .outputMode("append")
        .option("checkpointLocation", str(table(MINUTE_BARS).checkpoint(settings)))
    )
    writer = _foreach_batch(writer, "minute_bars", write, tracker)
    query: StreamingQuery = _trigger(writer, settings, available_now).start()
    return query


def start_alerts(
    spark: SparkSession, settings: Settings, available_now: bool, tracker: ForeachBatchTracker | None = None
) -> StreamingQuery:
    """silver -> gold.alerts: stateful pattern detection per ticker, inserted once per alert_id."""
    params = Params(settings.alert_baseline_trades, settings.alert_spike_factor, settings.alert_run_length)
    alerts_path = table(ALERTS).path(settings)

    def write(alerts: DataFrame, batch_id: int) -> None:
        alerts = alerts.persist()
        try:
            # Insert-only: an occurrence detected again (a retried batch) keeps its first row,
            # detected_at included.
            insert_new(
                alerts.sparkSession,
                alerts_path,
                alerts,
                ("alert_id",),
                _batch_dates(alerts),
                what="insert gold.alerts",
            )
        finally:
            alerts.unpersist()

    writer = (
        detect_alerts(delta_source(spark, settings, SILVER_TRANSACTIONS), params)
        .writeStream.queryName("alerts")
        .outputMode("append")
        .option("checkpointLocation", str(table(ALERTS).checkpoint(settings)))
    )
    writer = _foreach_batch(writer, "alerts", write, tracker)
    query: StreamingQuery = _trigger(writer, settings, available_now).start()
    return query


# --- the job --------------------------------------------------------------------------------------


@contextmanager
def single_instance(settings: Settings) -> Iterator[None]:
    """Hold the data root's stream lock: two jobs on the same checkpoints would corrupt them."""
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path = settings.run_dir / "stream.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StockstreamError(
                f"the stream of {settings.data_root} is already running (pid {holder})",
                "it keeps processing what you replay; `stockstream status` shows it, "
                "`stockstream down` stops it",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class StatusFile:
    """The live status file `stockstream status` reads."""

    def __init__(self, settings: Settings, listener: ProgressListener, offsets: dict[int, int]) -> None:
        self.path = settings.stream_status_file
        self.listener = listener
        self.offsets = offsets
        self.started_at = datetime.now(UTC).isoformat()

    def silver_offsets(self, batch: dict[int, int]) -> None:
        for partition, offset in batch.items():
            self.offsets[partition] = max(offset, self.offsets.get(partition, 0))

    def write(self, state: str, error: str | None = None) -> None:
        """Rewrite the file; `error` says why a run failed (state "failed")."""
        queries = {
            name: {
                "batch_id": row["batch_id"],
                "input_rows": row["input_rows"],
                "input_rows_per_second": row["input_rows_per_second"],
                "processed_rows_per_second": row["processed_rows_per_second"],
                "duration_ms": row["duration_ms"],
                "timestamp": row["processed_at"].replace(tzinfo=UTC).isoformat()
                if row["processed_at"]
                else None,
                "watermark": row["watermark"].replace(tzinfo=UTC).isoformat() if row["watermark"] else None,
            }
            for name, row in self.listener.snapshot().items()
        }
        write_status(
            self.path,
            {
                "pid": os.getpid(),
                "state": state,
                "started_at": self.started_at,
                "updated_at": datetime.now(UTC).isoformat(),
                "queries": queries,
                "silver_offsets": {str(p): o for p, o in sorted(self.offsets.items())},
                "error": error,
            },
        )


def _iso(moment: datetime | None) -> str | None:
    """A naive UTC datetime as ISO-8601 with its offset."""
    return moment.replace(tzinfo=UTC).isoformat() if moment is not None else None


def run(settings: Settings, available_now: bool = False, stages: tuple[str, ...] = STAGES) -> StreamSummary:
    """Run the job: until everything available is processed, or until stopped (Ctrl-C, SIGTERM),
    at a batch boundary (see stop_queries). A query that fails stops the job with an error (the
    supervisor restarts it). `stages` names the queries to run, in pipeline order (tests of one
    stage run only it). A Spark session this call creates, it stops at the end."""
    from pyspark.sql import SparkSession

    with single_instance(settings), StopRequest() as stop:
        listener = ProgressListener()
        status = StatusFile(settings, listener, processed_offsets(settings))
        status.write("starting")
        if "bronze" in stages:
            refuse_data_loss(settings, status)
        owns_session = SparkSession.getActiveSession() is None
        spark = spark_session(settings, "stockstream-stream", create_tables=STREAM_TABLES, long_running=True)
        # A new SparkContext installs PySpark's SIGINT handler, which cancels every Spark job at
        # once: Ctrl-C is a stop request like SIGTERM.
        stop.listen()
        spark.streams.addListener(listener)
        queries: list[StreamingQuery] = []
        tracker = ForeachBatchTracker()
        starters = _starters(status, tracker)
        failure: str | None = None
        try:
            if available_now:
                _run_once(spark, settings, starters, stages, queries, stop=stop)
            else:
                _run_forever(
                    spark, settings, status, listener, stages, starters=starters, queries=queries, stop=stop
                )
        except Exception as exc:
            explained = explain_failure(settings, exc)
            failure = status_error(explained)
            if explained is exc:
                raise
            raise explained from exc
        finally:
            status.write("stopping")
            stop_queries(spark, settings, queries, stop, tracker)
            history = [progress_row(p) for query in queries for p in query.recentProgress]
            if available_now:
                # The listener hears of a batch asynchronously, maybe after its query ended: write
                # the ended queries' own progress instead (silver wrote its rows itself).
                listener.take()
                done = [r for r in history if r["query_name"] != SILVER_QUERY and r["input_rows"] > 0]
                write_progress(settings, done)
            else:
                write_progress(settings, listener.take())
            status.write("failed" if failure else "stopped", failure)
        if owns_session:
            spark.stop()
        return _summary(history)


def refuse_data_loss(settings: Settings, status: StatusFile) -> None:
    """Fail before Spark starts when the topic no longer holds records bronze has still to read
    (retention overtook the stream): the status file and the error name the offsets lost, and
    each restart by the supervisor fails the same way, cheaply, until the loss is dealt with."""
    loss = check_data_loss(settings)
    if loss is not None:
        error = loss.error()
        status.write("failed", str(error))
        raise error


def explain_failure(settings: Settings, error: Exception) -> Exception:
    """A failed query's error, or, when the Kafka source found records missing, a
    StockstreamError naming the offsets lost and what to do."""
    if not mentions_data_loss(error):
        return error
    loss = check_data_loss(settings)
    if loss is not None:
        return loss.error()
    first_line = (str(error).strip().splitlines() or [""])[0]
    return StockstreamError(
        f"DATA LOSS: the Kafka source of {settings.topic} found records missing: {first_line}",
        "nothing after the gap is processed; the stream log has Spark's full report of the offsets",
    )


def status_error(error: Exception, limit: int = 1000) -> str:
    """What the status file says of a failure: a StockstreamError whole (its hint included), any
    other error's first line (a Java stack trace stays in the log)."""
    text = str(error) if isinstance(error, StockstreamError) else (str(error).strip().splitlines() or [""])[0]
    text = text or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def stop_queries(
    spark: SparkSession,
    settings: Settings,
    queries: list[StreamingQuery],
    stop: StopRequest,
    tracker: ForeachBatchTracker,
) -> list[QueryStop]:
    """Stop every running query at a batch boundary, within settings.stream_drain_timeout.

    Each query finishes the batch it is executing and starts no other (pipeline/drain.py). They are
    all watched at once rather than upstream first: the order does not matter for consistency, as
    a query commits its own checkpoint and reads only what its upstream has committed, so bronze,
    silver and the live queries each stop at a boundary of their own and a restart continues each
    from its checkpoint; together, the drain lasts as long as the longest batch in flight, not the
    sum. A second Ctrl-C or SIGTERM interrupts what still runs."""
    # Spark's list of active queries includes those still initialising (isActive is False then).
    active = {query.id: query for query in spark.streams.active}
    mine = [query for query in queries if query.id in active]
    # Pipeline order first; a query this job did not start (none today) after them.
    running = mine + [query for key, query in active.items() if key not in {q.id for q in mine}]
    if not running:
        return []
    budget = settings.stream_drain_timeout
    signals = len(stop.received)  # none when a query failed: then the first signal interrupts
    log.info(
        "stopping the stream%s: %s finish the micro-batch in flight, up to %gs%s",
        f" ({' then '.join(stop.received)})" if signals else "",
        ", ".join(query.name or str(query.id) for query in running),
        budget,
        "" if stop.hurried else f" (Ctrl-C or SIGTERM{' again' if signals else ''} interrupts them)",
    )
    began = time.monotonic()
    checkpoints = {name: table(name_of).checkpoint(settings) for name, name_of in STAGE_TABLES.items()}
    stops = drain(
        running,
        checkpoints,
        budget,
        executing=_executing(spark, tracker),
        # A query's thread leaves Spark's active list when it ends.
        finished=lambda query: query.id not in {active.id for active in spark.streams.active},
        hurry=lambda: stop.hurried or len(stop.received) > signals,
    )
    log.info("stream stopped in %.1fs", time.monotonic() - began)
    return stops


def _executing(spark: SparkSession, tracker: ForeachBatchTracker) -> Callable[[Drainable], bool]:
    """Whether a query is executing its batch, past Spark's last check before a batch runs: the
    foreachBatch queries when inside their function; bronze when a Spark job of its run is running
    (its Kafka source and Delta sink start none before the batch executes). Any other: never (the
    drain then halts it between triggers)."""
    jobs = spark.sparkContext.statusTracker()

    def executing(query: Drainable) -> bool:
        if query.name in FOREACH_BATCH_STAGES:
            return tracker.inside(query.name) is not None
        if query.name == "bronze":
            active = set(jobs.getActiveJobsIds())
            return any(job in active for job in jobs.getJobIdsForGroup(str(query.runId)))
        return False

    return executing


def _await(spark: SparkSession, query: StreamingQuery, stop: StopRequest) -> bool:
    """Wait until the query ends (True) or a stop is requested (False); raises its failure.
    awaitTermination(timeout) says True for a query still initialising too (it answers "not
    active"): its thread is over once Spark no longer lists it."""
    while not stop.requested:
        ended = query.awaitTermination(POLL_SECONDS)  # type: ignore[arg-type]  # seconds, a float is fine
        if ended and query.id not in {q.id for q in spark.streams.active}:
            return True
    return False


Starter = Callable[["SparkSession", Settings, bool], "StreamingQuery"]


def _starters(status: StatusFile, tracker: ForeachBatchTracker) -> dict[str, Starter]:
    return {
        "bronze": start_bronze,
        "silver": lambda spark, settings, now: start_silver(
            spark, settings, now, status.silver_offsets, tracker
        ),
        "minute_bars": lambda spark, settings, now: start_minute_bars(spark, settings, now, tracker),
        "alerts": lambda spark, settings, now: start_alerts(spark, settings, now, tracker),
    }


def _run_once(
    spark: SparkSession,
    settings: Settings,
    starters: dict[str, Starter],
    stages: tuple[str, ...],
    queries: list[StreamingQuery],
    *,
    stop: StopRequest,
) -> None:
    """availableNow: each stage processes what the previous one produced, in order; the two live
    queries (both read silver) run side by side. `queries` gets each query started. A stop request
    returns at once (the caller stops what runs) and starts no further stage."""
    for stage in ("bronze", "silver"):
        if stage in stages and not stop.requested:
            queries.append(starters[stage](spark, settings, True))
            if not _await(spark, queries[-1], stop):
                return
    if stop.requested:
        return
    live = [starters[stage](spark, settings, True) for stage in ("minute_bars", "alerts") if stage in stages]
    queries.extend(live)
    for query in live:
        if not _await(spark, query, stop):
            return


def _run_forever(
    spark: SparkSession,
    settings: Settings,
    status: StatusFile,
    listener: ProgressListener,
    stages: tuple[str, ...],
    *,
    starters: dict[str, Starter],
    queries: list[StreamingQuery],
    stop: StopRequest,
) -> None:
    """Start the queries and watch them until a stop is requested; rewrite the status file and
    flush the progress rows every HEARTBEAT_SECONDS."""
    if stop.requested:  # while Spark was starting
        return
    queries.extend(starters[stage](spark, settings, False) for stage in STAGES if stage in stages)
    log.info("streaming: %s", ", ".join(q.name for q in queries))
    beat = 0.0
    try:
        while not stop.requested:
            if time.monotonic() >= beat:
                status.write("running")
                write_progress(settings, listener.take())
                beat = time.monotonic() + HEARTBEAT_SECONDS
            # Raises the failure of a query that died; a clean stop of one ends the job too. A
            # signal only sets the stop flag, so this returns within POLL_SECONDS of it.
            if spark.streams.awaitAnyTermination(POLL_SECONDS):  # type: ignore[arg-type]  # as above
                stopped = [q.name for q in queries if not q.isActive]
                raise StockstreamError(f"streaming queries stopped: {', '.join(stopped)}")
    except KeyboardInterrupt:  # Ctrl-C where no handler of ours listens (not the main thread)
        log.info("interrupted")


def _summary(history: list[dict[str, Any]]) -> StreamSummary:
    """Batches and Kafka records of the bronze query, and rows read per query (the recent window
    Spark keeps of each query's progress)."""
    summary = StreamSummary()
    for row in history:
        summary.per_query[row["query_name"]] = summary.per_query.get(row["query_name"], 0) + row["input_rows"]
        if row["query_name"] == "bronze" and row["input_rows"] > 0:
            summary.batches += 1
            summary.input_rows += row["input_rows"]
    return summary
