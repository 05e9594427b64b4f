"""A replay whose broker is gone ends with a clear error within a bounded time instead of waiting
for acknowledgements forever (the chaos lab's broker-sigkill give-up trial found the hang)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stockstream.broker import admin, replay
from stockstream.chaos.broker_kill import GIVE_UP_SECONDS
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction

pytestmark = pytest.mark.unit


class Clock:
    """time as replay uses it, advanced only by the fake producer's waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Failed:
    """A delivery error as confluent-kafka reports it."""

    def __repr__(self) -> str:
        return 'KafkaError{code=_MSG_TIMED_OUT,val=-192,str="Local: Message timed out"}'


class GoneBroker:
    """confluent-kafka's Producer as publish uses it, talking to a broker that died: records queue
    up until, after `takes` of them, the buffer is full (produce raises BufferError until room is
    made, which never happens); every wait passes on the clock and nothing is ever acknowledged,
    or, with `fails`, every queued record is reported failed at the next poll (the delivery
    timeout ran out)."""

    def __init__(self, clock: Clock, takes: int, fails: bool = False) -> None:
        self.clock = clock
        self.takes = takes
        self.fails = fails
        self.waiting: list[Callable[[Any, Any], None]] = []
        self.produced = 0
        self.config: dict[str, Any] = {}
        self.flush_timeout: float | None = None
        self.purged = False
        self.closed_after_purge: bool | None = None

    def __call__(self, config: dict[str, Any]) -> GoneBroker:
        self.config = config
        return self

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Callable[[Any, Any], None]) -> None:
        if len(self.waiting) == self.takes:
            raise BufferError("Local: Queue full")
        self.produced += 1
        self.waiting.append(on_delivery)

    def poll(self, timeout: float = -1) -> int:
        if timeout < 0:
            raise AssertionError("poll without a timeout waits forever for a dead broker")
        self.clock.now += timeout
        if not self.fails:
            return 0
        served, self.waiting = self.waiting, []
        for callback in served:
            callback(Failed(), None)
        return len(served)

    def flush(self, timeout: float = -1) -> int:
        if timeout < 0:
            raise AssertionError("flush without a timeout waits forever for a dead broker")
        self.flush_timeout = timeout
        self.poll(0)
        if self.waiting:
            self.clock.now += timeout
        return len(self.waiting)

    def __len__(self) -> int:
        return len(self.waiting)

    def purge(self) -> None:
        self.purged = True
        self.waiting = []

    def close(self) -> bool:
        self.closed_after_purge = not self.waiting
        return True


def trades(n: int) -> list[Transaction]:
    moment = datetime(2026, 10, 6, 14, 0, tzinfo=UTC)
    return [Transaction(f"t{i}", "AAA", moment, 10.0, 5, "BUY", "USD") for i in range(n)]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(admin, "require_broker", lambda settings: None)
    return Settings(data_root=tmp_path / "root")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(replay, "time", clock)
    return clock


@pytest.mark.parametrize("takes", [5, 3])
def test_a_replay_to_a_dead_broker_says_how_many_records_were_not_acknowledged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, clock: Clock, takes: int
) -> None:
    gone = GoneBroker(clock, takes)
    monkeypatch.setattr(replay, "Producer", gone)
    started = clock.now
    with pytest.raises(StockstreamError) as caught:
        replay.publish(settings, trades(5))
    message = str(caught.value)
    # All queued records are still waited for (bounded), then reported.
    assert f"{takes} of {takes} records were not acknowledged by the broker" in message
    assert f"within {replay.FLUSH_TIMEOUT:.0f}s" in message
    assert "safe to run again" in message
    assert gone.flush_timeout == replay.FLUSH_TIMEOUT
    # What was never acknowledged is dropped before the close, so the close waits for nothing.
    assert gone.purged and gone.closed_after_purge
    # A full buffer is waited out for SEND_BLOCK_MS, as kafka-python's send blocked for max_block_ms.
    blocked = replay.SEND_BLOCK_MS / 1000 if takes < 5 else 0.0
    assert clock.now - started == pytest.approx(blocked + replay.FLUSH_TIMEOUT, abs=0.2)
    assert clock.now - started < GIVE_UP_SECONDS
    # The flush outlasts the producer's own delivery timeout, after which every record is settled.
    assert gone.config["delivery.timeout.ms"] == replay.DELIVERY_TIMEOUT_MS
    assert replay.FLUSH_TIMEOUT > replay.DELIVERY_TIMEOUT_MS / 1000


def test_records_the_broker_failed_stop_the_replay_with_the_first_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    gone = GoneBroker(clock, takes=10_000, fails=True)
    monkeypatch.setattr(replay, "Producer", gone)
    with pytest.raises(StockstreamError) as caught:
        replay.publish(settings, trades(2000))
    message = str(caught.value)
    # The first poll of delivery reports finds the failures: nothing more is sent after it.
    assert gone.produced == replay.POLL_EVERY
    assert (
        f"{replay.POLL_EVERY} of {replay.POLL_EVERY} records were not acknowledged by the broker: "
        "KafkaError{code=_MSG_TIMED_OUT" in message
    )
    assert "safe to run again" in message
    assert clock.now - 1000.0 < 1.0, "failed records are not waited for again"
