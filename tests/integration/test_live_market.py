"""The live market against the real KRaft broker: paced, current-time records that silver accepts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from contextlib import closing
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, TopicPartition

from stockstream.broker.admin import end_offsets, ensure_topic
from stockstream.config import Settings, settings_env
from stockstream.market.live import LiveReport, open_market, run_live
from stockstream.market.reference import load_universe
from stockstream.pipeline.silver import CONTRACT_FIELDS
from tests.unit.transaction_contract import silver_reason

pytestmark = pytest.mark.integration

TICKERS = ["AAPL", "7203.T", "SAP"]


def read_topic(settings: Settings, timeout: float = 15.0) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of the topic, read up to its end offsets (known before reading)."""
    ends = end_offsets(settings)
    records: list[tuple[bytes, bytes]] = []
    with closing(
        KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    ) as consumer:
        partitions = [TopicPartition(settings.topic, p) for p in ends]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp.partition] for tp in partitions):
            assert time.monotonic() < deadline, f"the topic did not yield its {sum(ends.values())} records"
            for batch in consumer.poll(timeout_ms=500).values():
                records += [(record.key, record.value) for record in batch]
    return records


def test_live_market_publishes_paced_current_time_records(broker: Settings) -> None:
    settings = broker.model_copy(update={"topic": "live-market"})
    ensure_topic(settings)
    market = open_market(settings, TICKERS, always_open=True, seed=21)
    progress: list[int] = []

    def on_progress(report: LiveReport) -> None:
        progress.append(report.queued)

    before = datetime.now(UTC).replace(microsecond=0)
    report = run_live(
        settings,
        market,
        rate=40,
        duration=3.0,
        tick_seconds=0.25,
        progress_seconds=1.0,
        on_progress=on_progress,
    )
    after = datetime.now(UTC)

    assert (report.queued, report.sent, report.interrupted) == (120, 120, False)
    assert progress == [40, 80, 120]
    assert 2.9 < report.seconds < 6.0

    records = read_topic(settings)
    assert len(records) == 120
    values = [json.loads(value) for _, value in records]
    assert [key.decode() for key, _ in records] == [value["ticker"] for value in values]
    assert {value["ticker"] for value in values} == set(TICKERS)
    assert sum(report.per_ticker.values()) == 120
    assert len({value["txn_id"] for value in values}) == 120
    assert all(tuple(value) == CONTRACT_FIELDS for value in values)
    for value in values:
        event_time = datetime.fromisoformat(value["timestamp"])
        assert before <= event_time <= after
    currencies = {stock.ticker: stock.currency for stock in load_universe()}
    assert all(value["currency"] == currencies[value["ticker"]] for value in values)
    known = list(currencies)
    assert [silver_reason(value, known) for _, value in records] == [None] * 120


def test_sigterm_stops_the_command_like_ctrl_c(broker: Settings) -> None:
    """`stockstream simulate --live` started as a shell starts a background job (SIGINT ignored)
    stops on SIGTERM: it flushes, prints its summary and exits 0."""
    settings = broker.model_copy(update={"topic": "live-sigterm"})
    command = [settings.venv_bin / "stockstream", "simulate", "--live", "--always-open", "--tickers", "AAPL"]
    live = subprocess.Popen(
        [str(part) for part in command],
        env={**os.environ, **settings_env(settings)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509 - test only
    )
    try:
        # Its start line, then (warnings aside: this data root has no reference data) the first
        # progress line, after 5 s of trading.
        assert live.stderr is not None
        lines = [live.stderr.readline() for _ in range(2)]
        while "published" not in lines[-1] and len(lines) < 40:
            lines.append(live.stderr.readline())
        assert any(line.startswith("live market: 1 of 1 tickers trading now") for line in lines), lines
        assert "published" in lines[-1], lines
        live.terminate()
        out, err = live.communicate(timeout=30)
    finally:
        if live.poll() is None:
            live.kill()
    assert live.returncode == 0, err
    assert "stopped (Ctrl-C or SIGTERM): published" in " ".join(out.split()), out
    sent = sum(end_offsets(settings).values())
    assert sent > 0 and f"published {sent:,} live transactions" in " ".join(out.split()), (sent, out)
