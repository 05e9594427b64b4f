"""Graceful stop of the stream: the drain (halt every query, wait for its batch, stop it, say how),
the checkpoint reading behind it, the stop request signals make, and the stop timeouts."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from stockstream.pipeline.drain import (
    POLL_SECONDS,
    BatchLog,
    ForeachBatchTracker,
    QueryStop,
    batch_log,
    drain,
    halt_new_triggers,
)
from stockstream.services.stream import StreamService
from stockstream.signals import StopRequest
from tests.conftest import isolated_settings

pytestmark = pytest.mark.unit


def checkpoint(root: Path, name: str, offsets: list[int], commits: list[int]) -> Path:
    """A query checkpoint as Spark leaves it: offsets/N and commits/N, their .N.crc checksums, and
    the .N.<uuid>.tmp a write interrupted mid-way leaves."""
    folder = root / name
    for kind, ids in (("offsets", offsets), ("commits", commits)):
        (folder / kind).mkdir(parents=True)
        for batch in ids:
            (folder / kind / str(batch)).write_text("v1\n{}\n")
            (folder / kind / f".{batch}.crc").write_bytes(b"\0")
        (folder / kind / f".{max(ids, default=0) + 1}.6f1c2b.tmp").write_text("")
    (folder / "metadata").write_text('{"id": "x"}')
    return folder


def test_batch_log_reads_the_last_started_and_committed_batch(tmp_path: Path) -> None:
    folder = checkpoint(tmp_path, "silver", offsets=[0, 1, 2, 10, 11], commits=[0, 1, 2, 10])
    os.utime(folder / "offsets" / "11", (1_000_000.0, 1_000_000.0))
    assert batch_log(folder) == BatchLog(started=11, committed=10, started_at=1_000_000.0)
    assert batch_log(folder).in_flight == 11


def test_a_checkpoint_with_every_batch_committed_has_none_in_flight(tmp_path: Path) -> None:
    book = batch_log(checkpoint(tmp_path, "bronze", offsets=[0, 1, 2], commits=[0, 1, 2]))
    assert (book.started, book.committed, book.in_flight) == (2, 2, None)


def test_a_first_batch_started_and_a_missing_checkpoint(tmp_path: Path) -> None:
    assert batch_log(checkpoint(tmp_path, "alerts", offsets=[0], commits=[])).in_flight == 0
    assert batch_log(tmp_path / "never-started") == BatchLog(None, None, None)
    assert batch_log(tmp_path / "never-started").in_flight is None


@pytest.mark.parametrize(
    ("stop", "line"),
    [
        (QueryStop("bronze", 12, False, 0.04), "stopped bronze after batch #12 (waited 0.0s)"),
        (QueryStop("silver", 7, False, 2.345), "stopped silver after batch #7 (waited 2.3s)"),
        (QueryStop("alerts", None, False, 0.1), "stopped alerts before its first batch"),
        (
            QueryStop("silver", 8, True, 15.0, batch_seconds=21.04),
            "interrupted silver batch #8 after 21.0s (it is redone on restart)",
        ),
        (QueryStop("silver", 8, True, 15.0), "interrupted silver batch #8 (it is redone on restart)"),
        (QueryStop("minute_bars", 3, False, 0.2, error="boom"), "minute_bars failed: boom"),
    ],
)
def test_each_way_of_stopping_has_its_line(stop: QueryStop, line: str) -> None:
    assert stop.line() == line


class Clock:
    """Monotonic and wall clocks that move only when the drain sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.wall = time.time()

    def sleep(self, seconds: float) -> None:
        # Rounded: twenty polls of 0.1 s make 2.0 s, not 2.0000000000000004.
        self.now = round(self.now + seconds, 6)
        self.wall = round(self.wall + seconds, 6)


class FakeQuery:
    """A streaming query inside a trigger until `busy_until` on the fake clock (forever: None),
    executing its batch (past Spark's last check) from `executing_from`; what happens to it goes to
    the shared `events`. Halting it before it executes aborts the batch, as Spark 4.2 does."""

    def __init__(
        self,
        name: str,
        clock: Clock,
        events: list[str],
        busy_until: float | None = 0.0,
        executing_from: float = 0.0,
        thread_ends: float | None = None,
        on_stop: Any = None,
        failure: object = None,
    ) -> None:
        self.name = name
        self.id = f"id-{name}"
        self.runId = f"run-{name}"
        self.clock = clock
        self.events = events
        self.busy_until = busy_until
        self.executing_from = executing_from
        self.thread_ends = thread_ends
        self.on_stop = on_stop
        self.failure = failure
        self.halted = False

    @property
    def busy(self) -> bool:
        return self.busy_until is None or self.clock.now < self.busy_until

    @property
    def status(self) -> dict[str, Any]:
        return {"message": "Processing new data", "isDataAvailable": self.busy, "isTriggerActive": self.busy}

    def executing(self) -> bool:
        return self.busy and self.clock.now >= self.executing_from

    def finished(self) -> bool:
        """Its thread ended: after its trigger, once halted (a little later when `thread_ends`)."""
        ends = self.thread_ends if self.thread_ends is not None else self.busy_until
        return self.halted and not self.busy and (ends is not None and self.clock.now >= ends)

    def stop(self) -> None:
        self.events.append(f"stop {self.name} at {self.clock.now:.1f}")
        if self.on_stop is not None:
            self.on_stop()

    def exception(self) -> object:
        return self.failure


def halt(query: Any) -> bool:
    assert not query.busy or query.executing(), f"{query.name} halted before it executes: Spark aborts it"
    query.halted = True
    query.events.append(f"halt {query.name} at {query.clock.now:.1f}")
    return True


def run_drain(
    queries: list[FakeQuery], checkpoints: dict[str, Path], budget: float, **kwargs: Any
) -> list[QueryStop]:
    clock = queries[0].clock
    return drain(
        queries,
        checkpoints,
        budget,
        executing=lambda query: query.executing(),  # type: ignore[attr-defined]
        finished=lambda query: query.finished(),  # type: ignore[attr-defined]
        halt=kwargs.pop("halt", halt),
        clock=lambda: clock.now,
        wall_clock=lambda: clock.wall,
        sleep=clock.sleep,
        **kwargs,
    )


def test_each_query_stops_after_the_batch_it_executes_all_watched_at_once(tmp_path: Path) -> None:
    clock, events = Clock(), []
    queries = [
        FakeQuery("bronze", clock, events, busy_until=0.0),  # between triggers
        FakeQuery("silver", clock, events, busy_until=2.0),
        FakeQuery("minute_bars", clock, events, busy_until=0.5),
    ]
    checkpoints = {
        "bronze": checkpoint(tmp_path, "bronze", offsets=[0, 1, 2, 3], commits=[0, 1, 2, 3]),
        "silver": checkpoint(tmp_path, "silver", offsets=[0, 1], commits=[0, 1]),
        "minute_bars": checkpoint(tmp_path, "minute_bars", offsets=[0], commits=[0]),
    }
    stops = run_drain(queries, checkpoints, budget=15.0)
    assert events == [
        "halt bronze at 0.0",
        "stop bronze at 0.0",
        "halt silver at 0.0",
        "halt minute_bars at 0.0",
        "stop minute_bars at 0.5",
        "stop silver at 2.0",
    ]
    assert [(s.name, s.batch, s.interrupted, s.error) for s in stops] == [
        ("bronze", 3, False, None),
        ("silver", 1, False, None),
        ("minute_bars", 0, False, None),
    ]
    assert [s.waited for s in stops] == pytest.approx([0.0, 2.0, 0.5])


def test_a_query_halted_in_its_batch_is_stopped_once_its_thread_is_gone(tmp_path: Path) -> None:
    """Its thread ends by itself after the batch: stop() then has nothing left to interrupt. One
    halted between triggers is stopped at once, cutting its sleep until the next trigger short."""
    clock, events = Clock(), []
    queries = [
        FakeQuery("bronze", clock, events, busy_until=1.0, thread_ends=1.5),
        FakeQuery("alerts", clock, events, busy_until=0.0, thread_ends=5.0),
    ]
    checkpoints = {name: checkpoint(tmp_path, name, [0], [0]) for name in ("bronze", "alerts")}
    run_drain(queries, checkpoints, 15.0)
    assert events == ["halt bronze at 0.0", "halt alerts at 0.0", "stop alerts at 0.0", "stop bronze at 1.5"]


def test_a_batch_still_being_planned_is_halted_only_once_it_executes(tmp_path: Path) -> None:
    """Spark 4.2 abandons a batch halted before it executes: the drain waits for that moment."""
    clock, events = Clock(), []
    queries = [FakeQuery("silver", clock, events, busy_until=3.0, executing_from=1.0)]
    stops = run_drain(queries, {"silver": checkpoint(tmp_path, "silver", [0, 1], [0, 1])}, 15.0)
    assert events == ["halt silver at 1.0", "stop silver at 3.0"]
    assert stops[0].line() == "stopped silver after batch #1 (waited 3.0s)"


def test_a_batch_longer_than_the_budget_is_interrupted_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, events = Clock(), []
    silver_checkpoint = checkpoint(tmp_path, "silver", offsets=[0, 1, 2], commits=[0, 1])
    # Batch 2 started 4 s before the drain; stop() interrupts it, so commits/2 never comes.
    os.utime(silver_checkpoint / "offsets" / "2", (clock.wall - 4.0, clock.wall - 4.0))
    queries = [FakeQuery("bronze", clock, events), FakeQuery("silver", clock, events, busy_until=None)]
    checkpoints = {"bronze": checkpoint(tmp_path, "bronze", [0], [0]), "silver": silver_checkpoint}
    with caplog.at_level(logging.INFO, logger="stockstream.pipeline.drain"):
        stops = run_drain(queries, checkpoints, budget=5.0)
    assert events[-1] == "stop silver at 5.0"
    silver = stops[1]
    assert (silver.batch, silver.interrupted, silver.waited) == (2, True, pytest.approx(5.0))
    assert silver.batch_seconds == pytest.approx(9.0, abs=POLL_SECONDS)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("INFO", "stopped bronze after batch #0 (waited 0.0s)"),
        ("WARNING", "interrupted silver batch #2 after 9.0s (it is redone on restart)"),
    ]


def test_a_second_signal_stops_waiting_at_once(tmp_path: Path) -> None:
    clock, events = Clock(), []
    queries = [FakeQuery("silver", clock, events, busy_until=None)]
    stops = run_drain(
        queries,
        {"silver": checkpoint(tmp_path, "silver", [0, 1], [0])},
        budget=15.0,
        hurry=lambda: clock.now >= 1.0,
    )
    assert events == ["halt silver at 0.0", "stop silver at 1.0"]
    assert (stops[0].batch, stops[0].interrupted) == (1, True)


def test_a_query_that_cannot_be_halted_is_stopped_between_triggers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, events = Clock(), []
    query = FakeQuery("silver", clock, events, busy_until=1.0)
    stops = run_drain(
        [query], {"silver": checkpoint(tmp_path, "silver", [0], [0])}, 15.0, halt=lambda query: False
    )
    assert events == ["stop silver at 1.0"]
    assert (stops[0].batch, stops[0].interrupted) == (0, False)
    assert "silver cannot be told to start no new batch: stopping it between triggers" in caplog.text


def test_a_failing_query_does_not_keep_the_others_running(tmp_path: Path) -> None:
    clock, events = Clock(), []

    def broken() -> None:
        raise RuntimeError("py4j.protocol.Py4JNetworkError: Answer from Java side is empty\nmore")

    queries = [
        FakeQuery("bronze", clock, events, on_stop=broken),
        FakeQuery("silver", clock, events, failure="[STREAM_FAILED] Query silver terminated\ntrace"),
        FakeQuery("alerts", clock, events),
    ]
    checkpoints = {name: checkpoint(tmp_path, name, [0, 1], [0]) for name in ("bronze", "silver", "alerts")}
    stops = run_drain(queries, checkpoints, 15.0)
    assert [s.line() for s in stops] == [
        "bronze failed: py4j.protocol.Py4JNetworkError: Answer from Java side is empty",
        "silver failed: [STREAM_FAILED] Query silver terminated",
        "interrupted alerts batch #1 after 0.0s (it is redone on restart)",
    ]
    assert events[-1] == "stop alerts at 0.0"


def test_no_query_no_wait() -> None:
    assert drain([], {}, 15.0, sleep=lambda seconds: pytest.fail("slept")) == []


def test_the_tracker_says_which_batch_function_runs() -> None:
    tracker = ForeachBatchTracker()
    seen: list[int | None] = []

    def function(frame: object, batch_id: int) -> None:
        seen.append(tracker.inside("silver"))
        if batch_id == 8:
            raise ValueError("a failing batch")

    tracked = tracker.track("silver", function)
    assert tracker.inside("silver") is None
    tracked(object(), 7)
    with pytest.raises(ValueError, match="a failing batch"):
        tracked(object(), 8)
    assert seen == [7, 8]
    assert (tracker.inside("silver"), tracker.inside("alerts")) == (None, None)


def test_halting_something_that_is_not_a_jvm_query_says_no() -> None:
    class NotSpark:
        name = "bronze"

    assert halt_new_triggers(NotSpark()) is False


# --- the stop request ---------------------------------------------------------------------------


def test_the_first_signal_asks_to_stop_without_raising() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with StopRequest() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before the next line
        assert (stop.requested, stop.hurried, stop.received) == (True, False, ["SIGTERM"])
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_second_signal_hurries_and_gives_the_old_handlers_back() -> None:
    class Interrupted(Exception):
        pass

    def old_handler(signum: int, frame: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGINT, old_handler)
    try:
        with StopRequest() as stop:
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGTERM)
            assert (stop.hurried, stop.received) == (True, ["SIGINT", "SIGTERM"])
            # A third Ctrl-C acts as before the request.
            with pytest.raises(Interrupted):
                os.kill(os.getpid(), signal.SIGINT)
                raise AssertionError("SIGINT did not reach the old handler")
    finally:
        signal.signal(signal.SIGINT, previous)


def test_listening_again_takes_back_a_handler_installed_meanwhile() -> None:
    """As after PySpark's SparkContext installed its SIGINT handler: listen() takes Ctrl-C back,
    and restoring gives PySpark's handler back, not the one before it."""

    def pyspark_handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGINT)
    try:
        with StopRequest() as stop:
            signal.signal(signal.SIGINT, pyspark_handler)
            stop.listen()
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.received == ["SIGINT"]
        assert signal.getsignal(signal.SIGINT) is pyspark_handler
    finally:
        signal.signal(signal.SIGINT, before)


# --- timeouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("drain_timeout", "grace", "stop_timeout"), [(15.0, 35.0, 45.0), (50.0, 70.0, 80.0)])
def test_the_drain_fits_in_the_supervisors_grace_which_fits_in_down(
    tmp_path: Path, drain_timeout: float, grace: float, stop_timeout: float
) -> None:
    service = StreamService(isolated_settings(tmp_path, stream_drain_timeout=drain_timeout))
    assert (service.grace, service.stop_timeout) == (grace, stop_timeout)
    argv = list(service.process.argv)
    assert argv[argv.index("--grace") + 1] == f"{grace:g}"
    assert argv.index("--grace") < argv.index("--")


def test_the_drain_timeout_is_a_positive_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isolated_settings(tmp_path).stream_drain_timeout == 15.0
    monkeypatch.setenv("STOCKSTREAM_STREAM_DRAIN_TIMEOUT", "40")
    assert isolated_settings(tmp_path).stream_drain_timeout == 40.0
    with pytest.raises(ValueError, match="greater than 0"):
        isolated_settings(tmp_path, stream_drain_timeout=0)
