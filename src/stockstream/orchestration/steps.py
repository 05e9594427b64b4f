"""The steps of the DAGs, one function each. A step is a transaction on one trading day (or on the
whole lakehouse, for maintenance): running it again leaves the tables as they are (invariant 5).
Each returns a small JSON-able summary (the task's XCom) or raises StockstreamError saying what to do.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from stockstream.completion import DayCompletion, day_completion, replayed_records
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.orchestration.days import trailing_window

log = logging.getLogger(__name__)

START_STREAM = (
    "start it with `stockstream up` (or `make up`); `stockstream status` shows the services, "
    "and the stream's log is {log}"
)


def check_stream(settings: Settings) -> str:
    """The stream service's health line; raises when it is not running and healthy."""
    from stockstream.services.stream import StreamService

    service = StreamService(settings)
    reason = service.unhealthy_reason()
    if reason is not None:
        raise StockstreamError(
            f"the streaming service is not healthy ({reason}), so a replay would not be processed",
            START_STREAM.format(log=service.log_path),
        )
    detail = service.status_detail()
    log.info("stream: %s", detail)
    return detail


def extract_day(settings: Settings, day: date, source: str | None = None) -> dict[str, Any]:
    """Reference data and the day's bars (MERGE on the keys: re-running changes nothing)."""
    from stockstream.market.extract import choose_source, extract

    report = extract(settings, day, day, source=choose_source(settings, source))
    if report.bars == 0:
        raise StockstreamError(
            f"{report.source} has no daily bars for {day} (an exchange holiday?)",
            "choose a trading day, or check the source",
        )
    return {"day": day.isoformat(), "source": report.source, "stocks": report.stocks, "bars": report.bars}


def replay_day(settings: Settings, day: date, force: bool = False) -> dict[str, Any]:
    """Publish the day's simulated transactions, unless a complete replay of the day into the
    topic is already recorded in ops.replay_manifest (then nothing is sent: a cleared and
    re-run task adds no record to bronze). `force` publishes again (silver ignores the repeats)."""
    from stockstream.market.day_replay import replay_days

    recorded = replayed_records(settings, day)
    if recorded and not force:
        log.info(
            "%s was already replayed into %s (%d records in ops.replay_manifest): not publishing again",
            day,
            settings.topic,
            recorded,
        )
        return {"day": day.isoformat(), "sent": 0, "already_replayed": recorded}
    last_logged = [time.monotonic()]

    def progress(done: int) -> None:
        if time.monotonic() - last_logged[0] >= 10:
            last_logged[0] = time.monotonic()
            log.info("replaying %s: %d records sent", day, done)

    result = replay_days(settings, day, day, on_progress=progress)
    if day not in result.report.days:
        raise StockstreamError(
            f"the replay of {day} sent {result.report.sent} of {result.planned} records and was not "
            "recorded as complete",
            "check the broker (`stockstream status`) and run the task again",
        )
    log.info("replayed %s: %d records (replay %s)", day, result.report.sent, result.replay_id)
    return {"day": day.isoformat(), "sent": result.report.sent, "replay_id": result.replay_id}


def stream_caught_up(settings: Settings, day: date) -> DayCompletion:
    """Whether silver has processed everything the day's replays published. Raises at once when
    the day was never replayed or the stream service is not running at all (waiting cannot help);
    a service that is restarting is waited for."""
    from stockstream.services.stream import StreamService

    completion = day_completion(settings, day)
    if not completion.replayed:
        raise StockstreamError(
            f"{day} has no replay in ops.replay_manifest for topic {settings.topic}",
            "run the replay task (or `stockstream replay --start D --end D`) first",
        )
    service = StreamService(settings)
    if not completion.complete and not service.is_running():
        raise StockstreamError(
            f"the streaming service is not running; {completion.describe()}",
            START_STREAM.format(log=service.log_path),
        )
    return completion


def finalize_day(settings: Settings, day: date) -> dict[str, str]:
    """Recompute the day's gold in batch from silver and reconcile; raises naming the first
    failed check (every check is recorded in ops.data_quality either way)."""
    from stockstream.pipeline.finalize import finalize_day as finalize
    from stockstream.spark import spark_session

    spark = spark_session(settings, "stockstream-finalize")
    report = finalize(spark, settings, day)
    for check in report.checks:
        log.info("%s %s: %s (%s)", day, check.name, check.status, check.detail)
    failure = report.first_failure
    if failure is not None:
        raise StockstreamError(
            f"{day} failed check {failure.name}: {failure.detail}",
            "the checks are in ops.data_quality; fix the cause and clear the task to run it again",
        )
    return {check.name: check.status for check in report.checks}


def render_day(settings: Settings, day: date) -> dict[str, str]:
    """The six analyses of the day and of the trailing window ending with it, as PNGs and an
    HTML report each (re-rendering overwrites them with the same content)."""
    from stockstream.analyses import render

    start, _ = trailing_window(day, settings.render_window_days)  # the window ends with the day
    outputs = {
        "day": (day, settings.reports_dir / day.isoformat()),
        "window": (start, settings.reports_dir / f"{start.isoformat()}_{day.isoformat()}"),
    }
    for name, (first, folder) in outputs.items():
        report = render(settings, first, day, folder)
        for message in report.messages:
            log.warning("%s", message)
        if report.empty:
            raise StockstreamError(
                f"no gold rows for {first}..{day}, so there is nothing to render",
                "the finalize task writes them: look at its log",
            )
        log.info("report of the %s: %s (%d charts)", name, report.html, len(report.files) - 1)
    return {name: str(folder / "report.html") for name, (_, folder) in outputs.items()}


def refresh_reference(settings: Settings, source: str | None = None) -> dict[str, Any]:
    """Company profiles of the universe into reference.dim_stock (an upsert on ticker)."""
    from stockstream.market.extract import choose_source, refresh_profiles

    chosen = choose_source(settings, source)
    stocks = refresh_profiles(settings, chosen)
    return {"source": chosen.name, "stocks": stocks}


def maintain_lakehouse(settings: Settings) -> dict[str, int]:
    """OPTIMIZE and VACUUM every table: table -> files after compaction."""
    from stockstream.pipeline.maintain import maintain
    from stockstream.spark import spark_session

    spark = spark_session(settings, "stockstream-maintain")
    return {item.table: item.files_after for item in maintain(spark, settings)}


def clean_old_files(settings: Settings, now: float | None = None) -> dict[str, int]:
    """Remove what outlives its use: task logs older than the retention, and Spark scratch
    folders left behind by killed processes. Streaming checkpoints are not touched: Spark keeps
    their last batches itself (spark.sql.streaming.minBatchesToRetain) and they are the stream's
    exactly-once record. Returns folder -> files removed."""
    cutoff = (now if now is not None else time.time()) - settings.log_retention_days * 86400
    removed = {
        "airflow_logs": _remove_older(settings.airflow_home / "logs", cutoff, lambda p: p.is_file()),
        "spark_tmp": _remove_older(
            settings.data_root / "spark-tmp", cutoff, lambda p: p.parent.name == "spark-tmp"
        ),
    }
    log.info("removed old files: %s", removed)
    return removed


def _remove_older(root: Path, cutoff: float, wanted: Callable[[Path], bool]) -> int:
    if not root.is_dir():
        return 0
    # Folders old before this clean-up (removing their files makes them look new).
    old_folders = [p for p in root.rglob("*") if p.is_dir() and p.stat().st_mtime < cutoff]
    count = 0
    for path in sorted(root.rglob("*"), reverse=True):  # children before their folders
        try:
            if not wanted(path) or path.stat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            count += 1
        except FileNotFoundError:
            continue
    # Only old empty folders: a task may be about to write into a new one.
    for folder in sorted(old_folders, reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            os.rmdir(folder)
    return count
