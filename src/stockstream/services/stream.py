"""The streaming job (`stockstream stream`) as a supervised service: restarted when it crashes,
healthy while the status file it rewrites is fresh, with its lag behind the topic for `status`."""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
from kafka.errors import KafkaError

from stockstream.broker.admin import broker_ready, end_offsets
from stockstream.broker.security import kafka_client_config
from stockstream.config import Settings, settings_env
from stockstream.services.process import ManagedProcess

log = logging.getLogger(__name__)

STALE_AFTER = 60.0
"""Seconds without a status update after which a running job counts as stuck (it writes every 10 s)."""
JOB_EXIT_SECONDS = 20.0
"""What the job needs after its drain (settings.stream_drain_timeout): the last progress rows (a
small Delta append), the status file, Spark's shutdown; a few seconds, up to 20 on a 2-core machine
that is busy. The supervisor's grace from SIGTERM to SIGKILL is the sum."""
SUPERVISOR_EXIT_SECONDS = 10.0
"""What the supervisor needs after its grace: sweeping the job's process group, exiting. `stop()`
waits for the supervisor that much longer than its grace."""
NOT_RUNNING = "not running"
NO_STATUS = "starting: no status from this run yet"
CLOCK_SLACK = timedelta(seconds=1)
"""psutil derives start times from the whole-second boot time, so they may be off by up to 1 s."""


@dataclass(frozen=True)
class QueryProgress:
    """The last micro-batch of one streaming query, as the job reported it."""

    batch_id: int
    input_rows: int
    rows_per_second: float | None
    timestamp: datetime | None


@dataclass(frozen=True)
class StreamStatus:
    """The job's status file (settings.stream_status_file): one per run, rewritten while it runs."""

    pid: int | None
    state: str
    started_at: datetime
    updated_at: datetime
    queries: dict[str, QueryProgress]
    silver_offsets: dict[int, int]
    error: str | None = None  # why the run failed (state "failed"), with what to do


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _int(value: object) -> int | None:
    # bool is an int to Python, never to JSON's writer.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _query(value: object) -> QueryProgress | None:
    if not isinstance(value, dict):
        return None
    batch_id = _int(value.get("batch_id"))
    if batch_id is None:
        return None
    rate = value.get("processed_rows_per_second")
    # Spark reports NaN for a batch that took no time; json.loads accepts it.
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not math.isfinite(rate):
        rate = None
    return QueryProgress(
        batch_id=batch_id,
        input_rows=_int(value.get("input_rows")) or 0,
        rows_per_second=None if rate is None else float(rate),
        timestamp=_timestamp(value.get("timestamp")),
    )


def _offsets(value: object) -> dict[int, int]:
    if not isinstance(value, dict):
        return {}
    offsets: dict[int, int] = {}
    for key, offset in value.items():
        if isinstance(key, str) and key.isdigit() and _int(offset) is not None:
            offsets[int(key)] = int(offset)
    return offsets


def parse_status(text: str) -> StreamStatus | None:
    """The status in a status file's text; None when it is not a readable status (e.g. half-written)."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    started_at, updated_at, state = (
        _timestamp(raw.get("started_at")),
        _timestamp(raw.get("updated_at")),
        raw.get("state"),
    )
    if started_at is None or updated_at is None or not isinstance(state, str):
        return None
    queries = raw.get("queries")
    parsed_queries = {
        name: progress
        for name, entry in (queries.items() if isinstance(queries, dict) else ())
        if (progress := _query(entry)) is not None
    }
    return StreamStatus(
        pid=_int(raw.get("pid")),
        state=state,
        started_at=started_at,
        updated_at=updated_at,
        queries=parsed_queries,
        silver_offsets=_offsets(raw.get("silver_offsets")),
        error=error if isinstance(error := raw.get("error"), str) and error.strip() else None,
    )


def read_status(path: Path) -> StreamStatus | None:
    """The status file's content; None when it is missing or unreadable."""
    try:
        return parse_status(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def unhealthy_reason(
    status: StreamStatus | None,
    process_started: datetime,
    now: datetime,
    job_pids: Collection[int] | None = None,
    max_age: float = STALE_AFTER,
) -> str | None:
    """Why a running service is not healthy, or None when it is: the status must come from this
    run (not older than the process), from a live job (one of job_pids, when given), say
    "running" and be younger than max_age seconds. A failed job's reason is given whole (on one
    line): the supervisor restarts it, but a failure such as data loss stays until dealt with."""
    if status is None or status.started_at < process_started - CLOCK_SLACK:
        return NO_STATUS
    if status.state == "failed":
        gone = job_pids is not None and status.pid is not None and status.pid not in job_pids
        reason = " ".join((status.error or "no reason recorded: see the stream log").split())
        return f"job failed{' (restarting)' if gone else ''}: {reason}"
    if job_pids is not None and status.pid is not None and status.pid not in job_pids:
        return f"job restarting (pid {status.pid} is gone)"
    if status.state != "running":
        return f"job {status.state}"
    age = (now - status.updated_at).total_seconds()
    if age > max_age:
        return f"no status update for {age:.0f}s"
    return None


def total_lag(end_offsets: Mapping[int, int], silver_offsets: Mapping[int, int]) -> int:
    """Records in the topic that silver has not processed yet, over every partition of the topic
    (a partition silver has no offset for counts from 0)."""
    # An offset past the end means the topic was recreated: that partition owes nothing, and a
    # negative term would hide the lag of the others.
    return sum(max(0, end - silver_offsets.get(partition, 0)) for partition, end in end_offsets.items())


def last_batch(status: StreamStatus) -> QueryProgress | None:
    """The last micro-batch of silver (of bronze while there is no silver query)."""
    return status.queries.get("silver") or status.queries.get("bronze")


def describe(status: StreamStatus, lag: int | None) -> str:
    """One line for `stockstream status`, e.g. 'lag 1,234 records, last batch #17 at 21:04:58 UTC
    (850 rows/s)'."""
    parts = [f"lag {lag:,} records" if lag is not None else "lag unknown (broker down)"]
    batch = last_batch(status)
    if batch is None:
        parts.append("no batch yet")
    else:
        text = f"last batch #{batch.batch_id}"
        if batch.timestamp is not None:
            text += f" at {batch.timestamp.astimezone(UTC):%H:%M:%S} UTC"
        if batch.rows_per_second is not None:
            text += f" ({batch.rows_per_second:,.0f} rows/s)"
        parts.append(text)
    return ", ".join(parts)


class StreamService:
    """`stockstream stream` under `python -m stockstream.services.supervise`, as a managed process."""

    name = "stream"

    def __init__(self, settings: Settings, job: Sequence[str] | None = None) -> None:
        """job: the supervised command (default: `python -m stockstream.cli stream`)."""
        self.settings = settings
        command = list(job) if job is not None else [settings.python, "-m", "stockstream.cli", "stream"]
        self.process = ManagedProcess(
            name=self.name,
            argv=[
                settings.python,
                "-m",
                "stockstream.services.supervise",
                "--name",
                self.name,
                "--grace",
                f"{self.grace:g}",
                "--",
                *command,
            ],
            run_dir=settings.run_dir,
            log_path=settings.log_dir / "stream.log",
            # Unbuffered, so the log shows a crash's last words before the restart.
            env={**settings_env(settings), "PYTHONUNBUFFERED": "1"},
        )

    @property
    def grace(self) -> float:
        """Seconds the supervisor gives the job from SIGTERM to SIGKILL: the job's drain plus its exit."""
        return self.settings.stream_drain_timeout + JOB_EXIT_SECONDS

    @property
    def stop_timeout(self) -> float:
        """Seconds `stop()` waits for the supervisor: its grace plus its own exit."""
        return self.grace + SUPERVISOR_EXIT_SECONDS

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def start(self) -> None:
        """Start the supervised job unless it runs, and wait until it reports healthy."""
        self.process.start()
        self.process.wait_healthy(self.healthy, timeout=self.settings.start_timeout)

    def stop(self) -> bool:
        """Stop the supervisor and the job; True when it was running."""
        pid = self.process.pid()
        if pid is None:
            return False
        # SIGTERM to the supervisor alone: it stops the job first (the job lets its micro-batches
        # in flight finish) and sweeps up after it, so Spark's JVM is not killed under a driver
        # that is still stopping its queries.
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
            supervisor = psutil.Process(pid)
            supervisor.terminate()
            supervisor.wait(timeout=self.stop_timeout)
        # Whatever outlived that is stopped as a tree (and the pid file goes).
        self.process.stop(timeout=5)
        return True

    def is_running(self) -> bool:
        return self.process.is_running()

    def status(self) -> StreamStatus | None:
        """The job's last status (possibly from an earlier run: see unhealthy_reason)."""
        return read_status(self.settings.stream_status_file)

    def unhealthy_reason(self) -> str | None:
        """Why the service is not healthy ('not running', a stale status, ...), None when healthy."""
        return self._check()[1]

    def _check(self) -> tuple[StreamStatus | None, str | None]:
        pid = self.process.pid()
        if pid is None:
            return None, NOT_RUNNING
        try:
            supervisor = psutil.Process(pid)
            started = datetime.fromtimestamp(supervisor.create_time(), UTC)
            job_pids = {child.pid for child in supervisor.children(recursive=True)}
        except psutil.NoSuchProcess:
            return None, NOT_RUNNING
        status = self.status()
        return status, unhealthy_reason(status, started, datetime.now(UTC), job_pids)

    def healthy(self) -> bool:
        return self.unhealthy_reason() is None

    def lag(self, status: StreamStatus) -> int | None:
        """Records silver has still to process; None when the broker does not answer."""
        if not broker_ready(self.settings.bootstrap_servers, kafka_client_config(self.settings)):
            return None
        try:
            ends = end_offsets(self.settings)
        except (KafkaError, OSError) as exc:
            log.debug("cannot read the end offsets of %s: %s", self.settings.topic, exc)
            return None
        return total_lag(ends, status.silver_offsets)

    def status_detail(self) -> str:
        """One line for `stockstream status`: lag and last batch, or why it is not healthy."""
        status, reason = self._check()
        if status is None or reason in (NOT_RUNNING, NO_STATUS):
            return reason or NO_STATUS
        summary = describe(status, self.lag(status))
        return summary if reason is None else f"{reason}; {summary}"
