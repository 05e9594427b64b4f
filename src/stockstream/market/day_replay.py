"""`stockstream replay --start D --end D`: simulate the days' trades from the lakehouse's bars,
publish them in event-time order, and record each day's offsets in ops.replay_manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from stockstream.broker.admin import ensure_topic
from stockstream.broker.manifest import write_manifest
from stockstream.broker.replay import ReplayReport, publish
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.intraday import count_transactions, load_plan, transactions
from stockstream.spark import spark_session
from stockstream.tables import REPLAY_MANIFEST


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
    zones = {ticker: ZoneInfo(stock.exchange_timezone) for ticker, stock in plan.stocks.items()}
    report = publish(
        settings,
        (txn for _, txn in transactions(plan, settings)),
        # trade_date as silver defines it: the event's date in the exchange's timezone
        day_of=lambda txn: txn.timestamp.astimezone(zones[txn.ticker]).date(),
        speed=speed,
        on_progress=on_progress,
    )
    if report.interrupted and report.days:
        report.days.pop(max(report.days))
    source = ",".join(sorted(plan.sources))
    replay_id = write_manifest(spark, report, source) if report.days else None
    return DayReplay(report=report, replay_id=replay_id, planned=planned, days=plan.days, source=source)
