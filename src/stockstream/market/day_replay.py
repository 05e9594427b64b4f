"""`stockstream replay --start D --end D`: simulate the days' trades from the lakehouse's bars,
publish them in event-time order, and record each day's offsets in ops.replay_manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from stockstream.broker.admin import ensure_topic
from stockstream.broker.manifest import write_manifest
from stockstream.broker.replay import DayOffsets, ReplayReport, publish, widen
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.intraday import DayPlan, count_transactions, load_plan, transactions


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
    plan = load_plan(settings, start, end)
    planned = count_transactions(plan, settings)
    if on_start is not None:
        on_start(planned)
    report = publish_plan(settings, plan, speed=speed, on_progress=on_progress)
    complete_days_only(report)
    source = ",".join(sorted(plan.sources))
    replay_id = write_manifest(settings, report, source) if report.days else None
    return DayReplay(report=report, replay_id=replay_id, planned=planned, days=plan.days, source=source)


def publish_plan(
    settings: Settings,
    plan: DayPlan,
    *,
    speed: float = 0.0,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """One producer sends the plan's trades in event-time order, in this process: two producer
    processes sent fewer records/s than one (46k against 75k), as they share 2 cores with the
    broker (BENCHMARKS.md)."""
    zones = {ticker: ZoneInfo(stock.exchange_timezone) for ticker, stock in plan.stocks.items()}
    return publish(
        settings,
        (txn for _, txn in transactions(plan, settings)),
        # trade_date as silver defines it: the event's date in the exchange's timezone
        day_of=lambda txn: txn.timestamp.astimezone(zones[txn.ticker]).date(),
        speed=speed,
        on_progress=on_progress,
    )


def merge_reports(reports: list[ReplayReport]) -> ReplayReport:
    """One report for several publishes to the same topic (the chaos lab's re-runs)."""
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
