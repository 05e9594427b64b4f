"""A replay whose broker is gone ends with a clear error within a bounded time instead of waiting
for acknowledgements forever (the chaos lab's broker-sigkill give-up trial found the hang)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka.errors import KafkaTimeoutError

from stockstream.broker import admin, replay
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction

pytestmark = pytest.mark.unit


class Pending:
    """A send's future that the broker never answers."""

    def add_callback(self, *_: Any) -> Pending:
        return self

    def add_errback(self, *_: Any) -> Pending:
        return self


class GoneBroker:
    """KafkaProducer as publish uses it, talking to a broker that died: sends queue up (or, after
    `takes` of them, block and fail as send does once its buffer and max_block_ms run out), and
    flush waits for acknowledgements that never come."""

    def __init__(self, takes: int) -> None:
        self.takes = takes
        self.sent = 0
        self.flush_timeout: float | None = None
        self.close_timeout: float | None = None
        self.config: dict[str, Any] = {}

    def __call__(self, **config: Any) -> GoneBroker:
        self.config = config
        return self

    def send(self, *_: Any, **__: Any) -> Pending:
        if self.sent == self.takes:
            raise KafkaTimeoutError("Failed to allocate memory within the configured max blocking time")
        self.sent += 1
        return Pending()

    def flush(self, timeout: float | None = None) -> None:
        if timeout is None:
            raise AssertionError("flush without a timeout waits forever for a dead broker")
        self.flush_timeout = timeout
        raise KafkaTimeoutError(f"Timeout after waiting for {timeout} secs.")

    def close(self, timeout: float | None = None) -> None:
        if timeout is None:
            raise AssertionError("close without a timeout waits forever for a dead broker")
        self.close_timeout = timeout
        # As kafka-python's close does: it flushes first, and that flush times out too.
        raise KafkaTimeoutError("Timeout waiting for future")


def trades(n: int) -> list[Transaction]:
    moment = datetime(2026, 10, 6, 14, 0, tzinfo=UTC)
    return [Transaction(f"t{i}", "AAA", moment, 10.0, 5, "BUY", "USD") for i in range(n)]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(admin, "require_broker", lambda settings: None)
    return Settings(data_root=tmp_path / "root")


@pytest.mark.parametrize("takes", [5, 3])
def test_a_replay_to_a_dead_broker_says_how_many_records_were_not_acknowledged(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, takes: int
) -> None:
    gone = GoneBroker(takes)
    monkeypatch.setattr(replay, "KafkaProducer", gone)
    with pytest.raises(StockstreamError) as caught:
        replay.publish(settings, trades(5))
    message = str(caught.value)
    # All queued records are still waited for (bounded), then reported.
    assert f"{takes} of {takes} records were not acknowledged by the broker" in message
    assert f"within {replay.FLUSH_TIMEOUT:.0f}s" in message
    assert "safe to run again" in message
    assert gone.flush_timeout == replay.FLUSH_TIMEOUT
    assert gone.close_timeout == replay.CLOSE_TIMEOUT
    # The flush outlasts the producer's own delivery timeout, after which every record is settled.
    assert gone.config["delivery_timeout_ms"] == replay.DELIVERY_TIMEOUT_MS
    assert replay.FLUSH_TIMEOUT > replay.DELIVERY_TIMEOUT_MS / 1000
