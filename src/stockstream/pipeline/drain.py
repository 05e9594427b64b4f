"""Stopping the streaming queries at a batch boundary.

`StreamingQuery.stop()` interrupts the micro-batch a query is running: the batch is redone on
restart and every write is idempotent, so nothing is lost, but the stop is not at a batch boundary.
Spark has no public call that lets a query finish its batch and start no other, so
`halt_new_triggers` does the first half of what `stop()` does, without the interrupt: it marks the
query terminated. The query's micro-batch thread reads that state before each trigger, so it starts
no new one and ends by itself once the batch it is in is committed.

One catch (Spark 4.2, MicroBatchExecution.runBatch): once a batch is planned, just before it
executes, the thread interrupts itself if the query is no longer active, so that a batch planned
while stop() was called does not run. A batch halted while it is still being constructed or
planned is therefore abandoned (offsets/N written, nothing else; a restart redoes it). So a query
is halted only when it is past that check, i.e. executing its batch (`executing`, which the job
answers from what it sees: its foreachBatch function running, or a Spark job of the query's), or
when it is between triggers.

`drain` watches every query at once: halts each at the first safe moment, stops it once its
trigger has ended (`stop()` then only ends a thread that is idle or gone), and interrupts what
still runs when the budget is spent, saying so.

Whether a batch was left half-done is read off the query's checkpoint: Spark writes `offsets/N`
when batch N starts and `commits/N` when it is done.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often the drain looks at the queries."""


class Drainable(Protocol):
    """What the drain uses of a pyspark StreamingQuery."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def runId(self) -> str: ...  # pyspark's name

    @property
    def status(self) -> dict[str, Any]: ...

    def stop(self) -> None: ...

    def exception(self) -> object: ...


class ForeachBatchTracker:
    """Which queries are inside their foreachBatch function right now. Spark calls that function
    after its last check before a batch executes, so a query found inside it can be halted."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside: dict[str, int] = {}

    def track(self, name: str, function: Callable[[Any, int], None]) -> Callable[[Any, int], None]:
        """`function` as a foreachBatch function that says when query `name` is inside it."""

        def tracked(frame: Any, batch_id: int) -> None:
            with self._lock:
                self._inside[name] = batch_id
            try:
                function(frame, batch_id)
            finally:
                with self._lock:
                    self._inside.pop(name, None)

        return tracked

    def inside(self, name: str) -> int | None:
        """The batch whose function query `name` runs now, or None."""
        with self._lock:
            return self._inside.get(name)


@dataclass(frozen=True)
class BatchLog:
    """What a query's checkpoint says about its micro-batches."""

    started: int | None
    """The last batch started (the highest N of offsets/N)."""
    committed: int | None
    """The last batch committed (the highest N of commits/N)."""
    started_at: float | None = None
    """When the last batch started: its offsets file's modification time (epoch seconds)."""

    @property
    def in_flight(self) -> int | None:
        """The batch started and not committed (a restart redoes it), or None."""
        if self.started is None or (self.committed is not None and self.committed >= self.started):
            return None
        return self.started


def _batch_ids(folder: Path) -> list[int]:
    # Spark names the files 0, 1, 2...; it also leaves .N.crc checksums and .N.<uuid>.tmp files.
    try:
        return [int(entry.name) for entry in folder.iterdir() if entry.name.isdigit()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def batch_log(checkpoint: Path) -> BatchLog:
    """The last started and last committed batch of the query checkpointing in `checkpoint`."""
    started = max(_batch_ids(checkpoint / "offsets"), default=None)
    committed = max(_batch_ids(checkpoint / "commits"), default=None)
    started_at = None
    if started is not None:
        with suppress(OSError):
            started_at = (checkpoint / "offsets" / str(started)).stat().st_mtime
    return BatchLog(started, committed, started_at)


@dataclass(frozen=True)
class QueryStop:
    """How one query stopped."""

    name: str
    batch: int | None
    """The last batch it committed, or the one it was interrupted in."""
    interrupted: bool
    waited: float
    """Seconds from the start of the drain until the query was stopped."""
    batch_seconds: float | None = None
    """How long the interrupted batch had run."""
    error: str | None = None
    """Why the query failed, when it did (its last batch is then redone on restart)."""

    def line(self) -> str:
        """One log line, e.g. 'stopped silver after batch #7 (waited 2.3s)'."""
        if self.error is not None:
            return f"{self.name} failed: {self.error}"
        if self.interrupted:
            ran = f" after {self.batch_seconds:.1f}s" if self.batch_seconds is not None else ""
            return f"interrupted {self.name} batch #{self.batch}{ran} (it is redone on restart)"
        if self.batch is None:
            return f"stopped {self.name} before its first batch"
        return f"stopped {self.name} after batch #{self.batch} (waited {self.waited:.1f}s)"


def halt_new_triggers(query: Any) -> bool:
    """Let the query finish the micro-batch it runs and start no other, without interrupting it.

    Sets the state `StreamingQuery.stop()` sets before it interrupts the query's thread (TERMINATED),
    through Py4J: MicroBatchExecution checks it before each trigger. True when done; False when the
    JVM side is not what this expects (another Spark version, Spark Connect), and the caller can
    only wait until the query is between triggers."""
    try:
        state = query._jsq.streamingQuery().state()
        current = state.get()
        kind = current.getClass()
        if kind.getName().endswith(".TERMINATED$"):
            return True
        # The state objects are Scala case objects side by side (ACTIVE$, TERMINATED$...): find
        # TERMINATED's through the current one, whatever package this Spark version keeps them in.
        package = kind.getName().rsplit(".", 1)[0]
        terminated = kind.getClassLoader().loadClass(f"{package}.TERMINATED$").getField("MODULE$").get(None)
        return bool(state.compareAndSet(current, terminated))
    except Exception as exc:  # any Py4J or attribute error: fall back to waiting for a quiet moment
        log.debug("cannot halt %s without interrupting it: %s", getattr(query, "name", query), exc)
        return False


def _in_trigger(query: Drainable) -> bool:
    return bool(query.status.get("isTriggerActive"))


def _first_line(value: object) -> str:
    text = str(value).strip()
    return text.splitlines()[0] if text else type(value).__name__


def drain(
    queries: Sequence[Drainable],
    checkpoints: Mapping[str, Path],
    budget: float,
    *,
    executing: Callable[[Drainable], bool] = lambda query: False,
    finished: Callable[[Drainable], bool] = lambda query: True,
    halt: Callable[[Drainable], bool] = halt_new_triggers,
    hurry: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> list[QueryStop]:
    """Stop `queries` at a batch boundary within `budget` seconds; one QueryStop per query, in the
    order given, each logged when it stops.

    Every query is watched at once: halted as soon as it is between triggers or `executing(query)`
    (past Spark's last check before its batch runs). One halted between triggers is stopped at
    once (which cuts its wait for the next trigger short); one halted during its batch ends by
    itself after the batch, and is stopped once `finished(query)` says its thread is gone (stop()
    then has nothing to interrupt). When the budget is spent, or `hurry()` turns true (a second
    Ctrl-C), what still runs is stopped, which interrupts its batch. `checkpoints` maps a query name
    to its checkpoint folder: whether it stopped mid-batch, and at which batch."""
    began = clock()
    deadline = began + budget
    halted: dict[str, bool] = {}
    """Name -> True when halted, False when it cannot be (it is then stopped between triggers)."""
    idle: set[str] = set()
    """The queries halted between triggers."""
    stops: dict[str, QueryStop] = {}
    while True:
        out_of_time = clock() >= deadline or hurry()
        for query in queries:
            if query.name in stops:
                continue
            try:
                busy = _in_trigger(query)
                if query.name not in halted and (not busy or executing(query)):
                    halted[query.name] = halt(query)
                    if not busy:
                        idle.add(query.name)
                    if not halted[query.name]:
                        log.warning(
                            "%s cannot be told to start no new batch: stopping it between triggers",
                            query.name,
                        )
                ended = (
                    query.name in halted
                    and not busy
                    and (not halted[query.name] or query.name in idle or finished(query))
                )
                if not (out_of_time or ended):
                    continue
                waited = clock() - began
                query.stop()
                stop = _outcome(query, checkpoints.get(query.name), waited, wall_clock)
            except Exception as exc:  # one query's trouble must not keep the others running
                stop = QueryStop(query.name, None, False, clock() - began, error=_first_line(exc))
            log.log(logging.WARNING if stop.interrupted or stop.error else logging.INFO, "%s", stop.line())
            stops[query.name] = stop
        if len(stops) == len(queries):
            return [stops[query.name] for query in queries]
        sleep(POLL_SECONDS)


def _outcome(
    query: Drainable, checkpoint: Path | None, waited: float, wall_clock: Callable[[], float]
) -> QueryStop:
    """How a query that was just stopped ended: from its failure, if any, and its checkpoint."""
    failure = query.exception()
    book = batch_log(checkpoint) if checkpoint is not None else BatchLog(None, None)
    if failure is not None:
        return QueryStop(query.name, book.in_flight, False, waited, error=_first_line(failure))
    if book.in_flight is not None:
        # A file system's clock may be a little ahead of this one.
        ran = max(0.0, wall_clock() - book.started_at) if book.started_at is not None else None
        return QueryStop(query.name, book.in_flight, True, waited, batch_seconds=ran)
    return QueryStop(query.name, book.committed, False, waited)
