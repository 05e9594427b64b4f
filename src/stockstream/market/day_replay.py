"""`stockstream replay --start D --end D`: simulate the days' trades from the lakehouse's bars,
publish them in event-time order, and record each day's offsets in ops.replay_manifest."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from queue import Empty
from typing import Any
from zoneinfo import ZoneInfo

from stockstream.broker.admin import ensure_topic
from stockstream.broker.manifest import write_manifest
from stockstream.broker.replay import DayOffsets, ReplayReport, publish, widen
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.intraday import DayPlan, count_transactions, load_plan, transactions
from stockstream.spark import spark_session
from stockstream.tables import REPLAY_MANIFEST

log = logging.getLogger(__name__)

# Starting producer processes costs about 2 s; below this many records one producer is faster
# (BENCHMARKS.md: 21k records, one producer 11.5k/s, two processes 8.1k/s).
PARALLEL_FROM = 50_000


@dataclass(frozen=True)
class DayReplay:
    """A finished (or interrupted) replay of a range of days."""

    report: ReplayReport
    replay_id: str | None
    planned: int
    days: list[date]
    source: str


def replay_days(
    settings: Settings,
    start: date,
    end: date,
    *,
    speed: float = 0.0,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DayReplay:
    """Publish every simulated trade of [start, end]; the manifest gets the days that were sent
    completely (an interrupted replay records none of its last, partial day)."""
    if end < start:
        raise StockstreamError(f"the range ends ({end}) before it starts ({start})", "swap --start and --end")
    ensure_topic(settings)
    spark = spark_session(settings, "stockstream-replay", create_tables=(REPLAY_MANIFEST,))
    plan = load_plan(spark, settings, start, end)
    planned = count_transactions(plan, settings)
    if on_start is not None:
        on_start(planned)
    workers = min(settings.replay_workers or os.cpu_count() or 1, len(plan.stocks))
    if speed == 0 and workers > 1 and planned >= PARALLEL_FROM:
        report = publish_parallel(settings, plan, workers, on_progress)
    else:
        report = publish_plan(settings, plan, speed=speed, on_progress=on_progress)
    complete_days_only(report)
    source = ",".join(sorted(plan.sources))
    replay_id = write_manifest(spark, settings, report, source) if report.days else None
    return DayReplay(report=report, replay_id=replay_id, planned=planned, days=plan.days, source=source)


def publish_plan(
    settings: Settings,
    plan: DayPlan,
    *,
    speed: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """One producer sends the plan's trades in event-time order."""
    zones = {ticker: ZoneInfo(stock.exchange_timezone) for ticker, stock in plan.stocks.items()}
    return publish(
        settings,
        (txn for _, txn in transactions(plan, settings)),
        # trade_date as silver defines it: the event's date in the exchange's timezone
        day_of=lambda txn: txn.timestamp.astimezone(zones[txn.ticker]).date(),
        speed=speed,
        on_progress=on_progress,
    )


_progress: Any = None


def _init_worker(queue: Any) -> None:
    global _progress  # noqa: PLW0603 - one queue per worker process, set once at start
    _progress = queue


def _publish_group(settings: Settings, plan: DayPlan) -> ReplayReport:
    sent = [0]

    def report(done: int) -> None:
        _progress.put(done - sent[0])
        sent[0] = done

    return publish_plan(settings, plan, on_progress=report)


def publish_parallel(
    settings: Settings, plan: DayPlan, workers: int, on_progress: Callable[[int], None] | None = None
) -> ReplayReport:
    """As fast as possible: one kafka-python producer tops out near 20k records/s per core, so
    the tickers are split over producer processes. Each ticker stays in one process, in event
    order, so its partition receives its trades in order; the same records and txn_ids are sent
    as by one producer."""
    tickers = sorted(plan.stocks)
    groups = [set(tickers[i::workers]) for i in range(workers)]
    plans = [
        DayPlan(
            bars=[bar for bar in plan.bars if bar.ticker in group],
            stocks={ticker: plan.stocks[ticker] for ticker in group},
            skipped=[],
        )
        for group in groups
    ]
    context = multiprocessing.get_context("spawn")  # the parent holds a JVM gateway: never fork it
    queue = context.Queue()
    started = time.monotonic()
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(queue,)
    ) as pool:
        futures = [pool.submit(_publish_group, settings, part) for part in plans]
        done = 0
        while not all(future.done() for future in futures):
            try:
                done += queue.get(timeout=0.2)
                if on_progress is not None:
                    on_progress(done)
            except Empty:
                continue
            except KeyboardInterrupt:
                log.warning("interrupted: waiting for the producers to flush what they sent")
        reports = [future.result() for future in futures]
    merged = merge_reports(reports)
    merged.seconds = time.monotonic() - started
    if on_progress is not None:
        on_progress(merged.sent)
    return merged


def merge_reports(reports: list[ReplayReport]) -> ReplayReport:
    """One report for several producers of the same topic."""
    merged = ReplayReport(topic=reports[0].topic)
    for report in reports:
        merged.sent += report.sent
        merged.interrupted |= report.interrupted
        widen(merged.start_offsets, merged.end_offsets, report.start_offsets, report.end_offsets)
        for day, offsets in report.days.items():
            merged.days.setdefault(day, DayOffsets()).merge(offsets)
    if merged.interrupted:
        # A day is complete only if every producer finished it: each sends in event order, so
        # an interrupted producer finished the days before its last one.
        cutoffs = [max(r.days) if r.days else date.min for r in reports if r.interrupted]
        merged.cutoff = min(cutoffs)
    return merged


def complete_days_only(report: ReplayReport) -> None:
    """After an interruption, forget the days that were not sent completely."""
    if not report.interrupted:
        return
    cutoff = report.cutoff if report.cutoff is not None else (max(report.days) if report.days else None)
    for day in [day for day in report.days if cutoff is None or day >= cutoff]:
        del report.days[day]
