"""The chaos lab: one real broker, one template lakehouse of offline reference data, and as many
instances as a scenario needs (each its own data root and topic on that broker), with the
supervised stream service, a paced publisher, and the checks every scenario ends with."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import psutil

from stockstream import lake
from stockstream.broker.admin import end_offsets, ensure_topic
from stockstream.broker.local import LocalBroker
from stockstream.broker.replay import ReplayReport, publish
from stockstream.completion import wait_processed
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction
from stockstream.services.process import free_ports, wait_until
from stockstream.services.stream import StreamService, read_status
from stockstream.tables import (
    ACTION_DAILY,
    COUNTRY_DAILY,
    INDUSTRY_DAILY,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    TECH_DAILY,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from stockstream.pipeline.finalize import FinalizeReport

log = logging.getLogger(__name__)

DAILY_GOLD = (STOCK_DAILY, INDUSTRY_DAILY, COUNTRY_DAILY, TECH_DAILY, ACTION_DAILY)
BOOKKEEPING = frozenset({"updated_at"})
"""Columns that say when a row was written, not what it holds: left out of content hashes."""
TEMPLATE = "template"


def lab_settings(root: Path, **overrides: Any) -> Settings:
    """Settings of a lab: its own data root and free ports, small Spark, a quick trigger."""
    values: dict[str, Any] = {
        "data_root": root / TEMPLATE,
        **free_ports(),
        "spark_master": "local[2]",
        "spark_shuffle_partitions": 2,
        "topic_partitions": 3,
        "trigger_interval": "2 seconds",
        "sim_trades_per_day": 60,
        "start_timeout": 240,
        "source": "offline",
    }
    values.update(overrides)
    return Settings(**values)


def content_hash(settings: Settings, name: str) -> str:
    """Every row of a table, bookkeeping columns left out, canonically ordered and hashed."""
    frame = lake.read(settings, name)
    frame = frame[[c for c in frame.columns if c not in BOOKKEEPING]]
    rows = sorted(json.dumps(row, default=repr, sort_keys=True) for row in frame.to_dict("records"))
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def gold_hashes(settings: Settings) -> dict[str, str]:
    """Content hashes of the daily gold tables the stream writes."""
    return {name: content_hash(settings, name) for name in DAILY_GOLD}


@dataclass(frozen=True)
class SilverAccount:
    """silver.transactions against the txn_ids that were published."""

    rows: int
    lost: int  # published, valid, and not in silver
    duplicated: int  # rows beyond one per txn_id
    unexpected: int  # txn_ids in silver that were never published

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0


def silver_account(settings: Settings, expected_ids: set[str]) -> SilverAccount:
    ids = lake.read(settings, SILVER_TRANSACTIONS, columns=["txn_id"])["txn_id"]
    distinct = set(ids)
    return SilverAccount(
        rows=len(ids),
        lost=len(expected_ids - distinct),
        duplicated=len(ids) - len(distinct),
        unexpected=len(distinct - expected_ids),
    )


def kill_tree(pid: int) -> None:
    """SIGKILL a process and all its descendants at once (as the OOM killer or a power cut would)."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        with suppress(psutil.NoSuchProcess):
            proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=30)


def stream_job_pid(settings: Settings) -> int | None:
    """The pid of the streaming job (the supervisor's child), as its status file names it."""
    status = read_status(settings.stream_status_file)
    return status.pid if status is not None else None


class Publisher(threading.Thread):
    """Publishes transactions in chunks spread over `seconds` (0: all at once) in a thread, the
    way a replay feeds the stream while it runs; `report` has the offsets afterwards and `error`
    what stopped it."""

    def __init__(
        self,
        settings: Settings,
        txns: Sequence[Transaction],
        day_of: Callable[[Transaction], date],
        *,
        seconds: float = 0.0,
        chunks: int = 1,
    ) -> None:
        super().__init__(daemon=True, name=f"publisher-{settings.topic}")
        self.settings = settings
        self.txns = txns
        self.day_of = day_of
        self.seconds = seconds
        self.chunks = max(1, chunks)
        self.reports: list[ReplayReport] = []
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        size = -(-len(self.txns) // self.chunks)
        started = time.monotonic()
        try:
            for i in range(self.chunks):
                due = started + self.seconds * i / self.chunks
                time.sleep(max(0.0, due - time.monotonic()))
                chunk = self.txns[i * size : (i + 1) * size]
                if chunk:
                    self.reports.append(publish(self.settings, chunk, day_of=self.day_of))
                    self.sent += len(chunk)
        except BaseException as exc:  # handed to the scenario, which reports it
            self.error = exc


@dataclass
class Lab:
    """A broker, a template data root with reference data and bars of `days`, the transactions the
    simulator makes of them, and a SparkSession for the finaliser and setup."""

    root: Path
    settings: Settings
    spark: SparkSession
    broker: LocalBroker
    days: list[date]
    txns: list[Transaction]
    zones: dict[str, ZoneInfo]
    source: str
    instances: list[Settings] = field(default_factory=list)

    @classmethod
    @contextmanager
    def open(
        cls, root: Path, start: date, end: date, spark: SparkSession | None = None, **overrides: Any
    ) -> Iterator[Lab]:
        """Start the broker, extract offline data of [start, end] into the template, simulate its
        transactions; stop every service the lab started when done. A `spark` given is used (and
        left running) instead of a session of the lab's own."""
        from stockstream.market.extract import choose_source, extract
        from stockstream.market.intraday import load_plan, transactions
        from stockstream.spark import spark_session

        settings = lab_settings(root, **overrides)
        broker = LocalBroker(settings)
        broker.start()
        own_spark = spark is None
        session = (
            spark if spark is not None else spark_session(settings, "stockstream-chaos", long_running=True)
        )
        lab: Lab | None = None
        try:
            extract(settings, start, end, source=choose_source(settings, "offline"))
            plan = load_plan(settings, start, end)
            txns = [txn for _, txn in transactions(plan, settings)]
            zones = {ticker: ZoneInfo(stock.exchange_timezone) for ticker, stock in plan.stocks.items()}
            lab = cls(root, settings, session, broker, plan.days, txns, zones, ",".join(sorted(plan.sources)))
            log.info(
                "chaos lab: %d days, %d transactions, broker %s", len(lab.days), len(txns), broker.bootstrap
            )
            yield lab
        finally:
            if lab is not None:
                for instance in lab.instances:
                    StreamService(instance).stop()
            if own_spark:
                session.stop()
            broker.stop()

    # --- instances ----------------------------------------------------------------------------

    def instance(self, name: str, **overrides: Any) -> Settings:
        """A fresh data root holding the template's reference data, and its own topic."""
        root = self.root / name
        if root.exists():
            shutil.rmtree(root)
        shutil.copytree(self.settings.lakehouse_dir, root / "lakehouse")
        settings = self.settings.model_copy(update={"data_root": root, "topic": name, **overrides})
        ensure_topic(settings)
        self.instances.append(settings)
        return settings

    def expected_ids(self) -> set[str]:
        return {txn.txn_id for txn in self.txns}

    def day_of(self, txn: Transaction) -> date:
        """trade_date as silver defines it: the event's date in the exchange's timezone."""
        return txn.timestamp.astimezone(self.zones[txn.ticker]).date()

    def publisher(self, settings: Settings, *, seconds: float = 0.0, chunks: int = 1) -> Publisher:
        return Publisher(settings, self.txns, self.day_of, seconds=seconds, chunks=chunks)

    def record_manifest(self, settings: Settings, reports: list[ReplayReport]) -> None:
        """ops.replay_manifest for what the publishers sent (the finaliser's completeness check)."""
        from stockstream.broker.manifest import write_manifest
        from stockstream.market.day_replay import merge_reports

        if reports:
            write_manifest(settings, merge_reports(reports), self.source)

    # --- the stream ---------------------------------------------------------------------------

    def start_stream(self, settings: Settings) -> StreamService:
        """The supervised stream (as `stockstream up` runs it), started and healthy."""
        service = StreamService(settings)
        service.start()
        return service

    def kill_stream_job(self, settings: Settings) -> int:
        """SIGKILL the streaming job (driver and JVM); its supervisor restarts it. Returns the pid."""
        pid = stream_job_pid(settings)
        if pid is None or not psutil.pid_exists(pid):
            raise StockstreamError(f"no streaming job is running for {settings.data_root}")
        kill_tree(pid)
        return pid

    def wait_restarted(self, settings: Settings, killed: int, timeout: float = 300) -> float:
        """Seconds until a new job reports running after `killed` died."""
        started = time.monotonic()

        def running_again() -> bool:
            status = read_status(settings.stream_status_file)
            return status is not None and status.pid not in (None, killed) and status.state == "running"

        if not wait_until(running_again, timeout, 0.2):
            raise StockstreamError(f"the stream was not restarted within {timeout:.0f}s after the kill")
        return time.monotonic() - started

    def wait_caught_up(self, settings: Settings, timeout: float = 600) -> None:
        """Until silver has processed every record in the topic."""
        missing = wait_processed(settings, end_offsets(settings), timeout=timeout, interval=1.0)
        if missing:
            raise StockstreamError(
                f"silver is still {sum(missing.values())} records behind after {timeout:.0f}s ({missing})"
            )

    # --- checks -------------------------------------------------------------------------------

    def finalize(self, settings: Settings) -> list[FinalizeReport]:
        """The finaliser over the lab's days, in the lab's SparkSession."""
        from stockstream.pipeline.finalize import finalize_days

        return finalize_days(self.spark, settings, self.days)

    def remove(self, settings: Settings) -> None:
        """Free an instance's disk once its figures are taken."""
        StreamService(settings).stop()
        shutil.rmtree(settings.data_root, ignore_errors=True)


def invariant_failures(reports: list[FinalizeReport]) -> list[str]:
    """The finaliser's failed checks, e.g. ['2026-10-06 stream_equals_batch: rows ...']."""
    return [
        f"{report.trade_date} {check.name}: {check.detail}"
        for report in reports
        for check in report.checks
        if check.status == "fail"
    ]


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes"}
