"""publish's confluent-kafka producer: kafka-python's settings under librdkafka's names (security
included), and what it does with the delivery reports: offsets per partition and per day,
progress, pacing."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from stockstream.broker import admin, replay
from stockstream.broker.security import librdkafka_config
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction

pytestmark = pytest.mark.unit

PASSWORD = 'pa"ss\\word-for-tests'  # pragma: allowlist secret


def secured(tmp_path: Path, protocol: str = "SASL_SSL") -> Settings:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read by these tests\n")
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_root=tmp_path,
        kafka_bootstrap="kafka-1.example:9094,kafka-2.example:9094",
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="stockstream",
        kafka_sasl_password=PASSWORD,
        kafka_ssl_cafile=ca,
    )


def test_the_producer_has_kafka_pythons_settings_under_librdkafkas_names(tmp_path: Path) -> None:
    config = replay.publisher_config(Settings(_env_file=None, data_root=tmp_path))  # type: ignore[call-arg]
    assert {key: value for key, value in config.items() if key != "logger"} == {
        "bootstrap.servers": "127.0.0.1:9092",
        "client.id": "stockstream-replay",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 20,
        "batch.size": 524288,
        "compression.type": "gzip",
        "max.in.flight.requests.per.connection": 5,
        "request.timeout.ms": 30000,
        "delivery.timeout.ms": replay.DELIVERY_TIMEOUT_MS,
        "queue.buffering.max.kbytes": 32768,
        "partitioner": "murmur2_random",
    }
    assert config["logger"] is replay.log
    # librdkafka accepts every one of them (it checks names and values when the producer is made).
    Producer(config).close()


def test_sasl_ssl_for_librdkafka(tmp_path: Path) -> None:
    settings = secured(tmp_path)
    assert librdkafka_config(settings) == {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "stockstream",
        "sasl.password": PASSWORD,
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }
    config = replay.publisher_config(settings)
    assert config["bootstrap.servers"] == "kafka-1.example:9094,kafka-2.example:9094"
    assert {key: config[key] for key in librdkafka_config(settings)} == librdkafka_config(settings)


def test_ssl_and_sasl_plaintext_for_librdkafka(tmp_path: Path) -> None:
    assert librdkafka_config(secured(tmp_path, "SSL")) == {
        "security.protocol": "ssl",
        "ssl.ca.location": str(tmp_path / "ca.pem"),
    }
    assert librdkafka_config(secured(tmp_path, "SASL_PLAINTEXT")) == {
        "security.protocol": "sasl_plaintext",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "stockstream",
        "sasl.password": PASSWORD,
    }
    assert librdkafka_config(Settings(_env_file=None, data_root=tmp_path)) == {}  # type: ignore[call-arg]


class Delivered:
    """A delivered message as confluent-kafka hands it to the delivery callback."""

    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset


class Broker:
    """confluent-kafka's Producer against a healthy broker of 3 partitions whose logs already
    hold 10 records each: a key's partition is its CRC32 modulo 3, offsets count on from there,
    and delivery reports are served by poll and flush."""

    def __init__(self) -> None:
        self.next_offset = {0: 10, 1: 10, 2: 10}
        self.waiting: list[tuple[Callable[[Any, Any], None], Delivered]] = []
        self.sent: list[tuple[bytes, bytes, int, int]] = []
        self.polls = 0

    def __call__(self, config: dict[str, Any]) -> Broker:
        return self

    def produce(self, topic: str, value: bytes, key: bytes, on_delivery: Callable[[Any, Any], None]) -> None:
        partition = zlib.crc32(key) % 3
        offset = self.next_offset[partition]
        self.next_offset[partition] += 1
        self.sent.append((key, value, partition, offset))
        self.waiting.append((on_delivery, Delivered(partition, offset)))

    def poll(self, timeout: float = -1) -> int:
        self.polls += 1
        served, self.waiting = self.waiting, []
        for callback, message in served:
            callback(None, message)
        return len(served)

    def flush(self, timeout: float = -1) -> int:
        self.poll(0)
        return 0

    def __len__(self) -> int:
        return len(self.waiting)

    def purge(self) -> None:
        raise AssertionError("nothing to purge after a complete flush")

    def close(self) -> bool:
        return True


D1, D2 = date(2026, 11, 19), date(2026, 11, 20)


def day_trades() -> list[Transaction]:
    """600 trades of 3 tickers over two days, in event order."""
    out = []
    for day in (D1, D2):
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=14)
        for i in range(300):
            ticker = ("AAA", "BBB", "CCC")[i % 3]
            out.append(Transaction(f"{day}-{i}", ticker, start + timedelta(seconds=i), 10.0, 1, "BUY", "USD"))
    return out


@pytest.fixture
def broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Broker:
    monkeypatch.setattr(admin, "require_broker", lambda settings: None)
    fake = Broker()
    monkeypatch.setattr(replay, "Producer", fake)
    return fake


def test_delivery_reports_give_each_days_offsets_per_partition(tmp_path: Path, broker: Broker) -> None:
    trades = day_trades()
    progress: list[int] = []
    report = replay.publish(
        Settings(_env_file=None, data_root=tmp_path),  # type: ignore[call-arg]
        trades,
        day_of=lambda txn: txn.timestamp.date(),
        on_progress=progress.append,
        progress_every=250,
    )
    assert report.sent == 600 and not report.interrupted
    # The key is the ticker, the value the contract's bytes, in the given order.
    assert [(key, value) for key, value, _, _ in broker.sent] == [
        (t.ticker.encode(), t.to_json()) for t in trades
    ]
    partitions = {zlib.crc32(t.encode()) % 3 for t in ("AAA", "BBB", "CCC")}
    per_partition = {p: sum(1 for _, _, q, _ in broker.sent if q == p) for p in partitions}
    assert report.start_offsets == dict.fromkeys(partitions, 10)
    assert report.end_offsets == {p: 10 + n for p, n in per_partition.items()}
    for day in (D1, D2):
        sent = zip(broker.sent, trades, strict=True)
        mine = [(p, o) for (_, _, p, o), t in sent if t.timestamp.date() == day]
        offsets = report.days[day]
        assert offsets.records == 300
        assert offsets.counts == {p: sum(1 for q, _ in mine if q == p) for p in partitions}
        assert offsets.start_offsets == {p: min(o for q, o in mine if q == p) for p in partitions}
        assert offsets.end_offsets == {p: max(o for q, o in mine if q == p) + 1 for p in partitions}
    assert report.days[D1].end_offsets == report.days[D2].start_offsets
    assert progress == [250, 500, 600]


def test_a_paced_replay_waits_on_an_absolute_schedule_and_polls_after_every_record(
    tmp_path: Path, broker: Broker
) -> None:
    trades = day_trades()[:4]  # 1 s apart in event time
    waits: list[float] = []
    report = replay.publish(
        Settings(_env_file=None, data_root=tmp_path),  # type: ignore[call-arg]
        trades,
        speed=0.5,
        sleep=waits.append,  # passes no time: each wait is the whole distance to its due time
    )
    assert report.sent == 4
    assert waits == pytest.approx([2.0, 4.0, 6.0], abs=0.2)
    assert broker.polls >= 4


def test_a_ca_file_librdkafka_cannot_load_is_a_clear_error(tmp_path: Path) -> None:
    settings = secured(tmp_path, "SSL")  # its CA file is not a certificate
    with pytest.raises(StockstreamError) as caught:
        replay.publisher(settings)
    assert "cannot set up the Kafka producer for kafka-1.example:9094,kafka-2.example:9094" in str(
        caught.value
    )
    assert "ssl.ca.location" in str(caught.value)
    assert caught.value.hint is not None and "STOCKSTREAM_KAFKA_" in caught.value.hint
