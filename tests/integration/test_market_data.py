"""Market data on real parts: extract into Delta (MERGE on the grain), then replay simulated days
and a seed CSV into the real broker and consume every record back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from pyspark.sql import SparkSession
from pyspark.testing import assertDataFrameEqual

import stockstream.spark as spark_module
from stockstream import lake
from stockstream.broker.admin import ensure_topic
from stockstream.broker.replay import ReplayReport, publish
from stockstream.config import Settings
from stockstream.market.day_replay import replay_days
from stockstream.market.extract import choose_source, extract
from stockstream.market.intraday import load_plan, transactions
from stockstream.market.sample import sample_transactions
from stockstream.market.seed_csv import read_seed_csv
from stockstream.market.transactions import Transaction
from stockstream.tables import DAILY_BARS, DIM_STOCK, REPLAY_MANIFEST, table

pytestmark = pytest.mark.integration

BAR_COLUMNS = ["ticker", "trade_date", "open", "high", "low", "close", "volume", "source"]


@pytest.fixture(scope="module")
def market(broker: Settings) -> Settings:
    """The session's broker and data root, with a topic of its own and small simulated days."""
    settings = broker.model_copy(update={"topic": "market-data-test", "sim_trades_per_day": 40})
    ensure_topic(settings)
    return settings


@pytest.fixture
def bars(market: Settings, spark: SparkSession) -> Settings:
    """Offline bars for 2026-11-16..20 in the lakehouse (the extract test leaves them there;
    a test run on its own extracts them)."""
    have = (
        table(DAILY_BARS).exists(market)
        and table(DAILY_BARS)
        .read(spark, market)
        .where("trade_date BETWEEN DATE'2026-11-16' AND DATE'2026-11-20'")
        .count()
        == 53 * 5
    )
    if not have:
        extract(market, date(2026, 11, 16), date(2026, 11, 20), source=choose_source(market, "offline"))
    return market


def consume(settings: Settings, report: ReplayReport) -> list[tuple[str, dict[str, object], int]]:
    """Every record the report says was written: (key, value, partition)."""
    start = report.start_offsets
    out = []
    with closing(
        KafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False)
    ) as consumer:
        partitions = [TopicPartition(settings.topic, p) for p in report.end_offsets]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, start[tp.partition])
        remaining = {tp.partition: report.end_offsets[tp.partition] for tp in partitions}
        for _ in range(200):
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if record.offset < remaining[record.partition]:
                        out.append((record.key.decode(), json.loads(record.value), record.partition))
            if all(consumer.position(tp) >= remaining[tp.partition] for tp in partitions):
                break
    return out


def test_extract_merges_on_the_grain(
    market: Settings, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline = choose_source(market, "offline")
    first = extract(market, date(2026, 11, 16), date(2026, 11, 18), source=offline)
    assert (first.source, first.stocks, first.bars, first.days) == ("offline", 53, 53 * 3, 3)
    bars_before = table(DAILY_BARS).read(spark, market).select(*BAR_COLUMNS, "extracted_at").collect()
    dims_before = table(DIM_STOCK).read(spark, market).collect()

    versions = {name: lake.version(market, name) for name in (DAILY_BARS, DIM_STOCK)}

    # Once the tables exist, extract writes with delta-rs and starts no Spark session.
    def no_spark(*args: object, **kwargs: object) -> None:
        raise AssertionError("extract started Spark although its tables exist")

    monkeypatch.setattr(spark_module, "spark_session", no_spark)
    # The same range again: the lakehouse already holds it, so no table gets a new version.
    again = extract(market, date(2026, 11, 16), date(2026, 11, 18), source=offline)
    assert (again.stocks, again.bars) == (53, 53 * 3)
    assert {name: lake.version(market, name) for name in (DAILY_BARS, DIM_STOCK)} == versions
    assertDataFrameEqual(
        table(DAILY_BARS).read(spark, market).select(*BAR_COLUMNS, "extracted_at"), bars_before
    )
    assertDataFrameEqual(table(DIM_STOCK).read(spark, market), dims_before)

    # An overlapping range adds the new days and leaves the overlap as it was, when it was written.
    extract(market, date(2026, 11, 18), date(2026, 11, 20), source=offline)
    monkeypatch.undo()
    assert table(DAILY_BARS).read(spark, market).count() == 53 * 5
    overlap = "trade_date BETWEEN DATE'2026-11-16' AND DATE'2026-11-18'"
    assertDataFrameEqual(
        table(DAILY_BARS).read(spark, market).where(overlap).select(*BAR_COLUMNS, "extracted_at"), bars_before
    )
    expected = offline.daily_bars(["AAPL", "SAP"], date(2026, 11, 16), date(2026, 11, 20))
    assertDataFrameEqual(
        table(DAILY_BARS).read(spark, market).where("ticker IN ('AAPL', 'SAP')").select(*BAR_COLUMNS),
        [(b.ticker, b.trade_date, b.open, b.high, b.low, b.close, b.volume, b.source) for b in expected],
        checkRowOrder=False,
    )
    aapl = table(DIM_STOCK).read(spark, market).where("ticker = 'AAPL'").first()
    assert aapl is not None and (aapl.name, aapl.country, aapl.exchange_timezone) == (
        "Apple Inc.",
        "United States",
        "America/New_York",
    )


def test_replayed_days_arrive_exactly_as_simulated(bars: Settings, spark: SparkSession) -> None:
    market = bars
    days = (date(2026, 11, 19), date(2026, 11, 20))
    plan = load_plan(market, *days)
    expected = [txn for _, txn in transactions(plan, market)]
    assert len(expected) == 53 * 2 * 40
    assert [t.timestamp for t in expected] == sorted(t.timestamp for t in expected), "merged by event time"

    result = replay_days(market, *days)
    report = result.report
    assert report.sent == len(expected) == result.planned
    assert sorted(report.days) == list(days)
    assert sum(day.records for day in report.days.values()) == len(expected)

    received = consume(market, report)
    assert len(received) == len(expected)
    by_id = {t.txn_id: t for t in expected}
    assert {value["txn_id"] for _, value, _ in received} == set(by_id)
    for key, value, _ in received:
        txn = by_id[str(value["txn_id"])]
        assert key == txn.ticker
        assert value == json.loads(txn.to_json())

    manifest = table(REPLAY_MANIFEST).read(spark, market).where(f"replay_id = '{result.replay_id}'").collect()
    assert {row.trade_date for row in manifest} == set(days)
    for row in manifest:
        offsets = report.days[row.trade_date]
        assert row.end_offset == offsets.end_offsets[row.partition]
        assert row.start_offset == offsets.start_offsets[row.partition]
        assert row.records == offsets.counts[row.partition]
        assert row.source == "offline" and row.topic == market.topic
    assert sum(row.records for row in manifest) == len(expected)


def test_interrupted_replay_flushes_what_it_sent(market: Settings) -> None:
    def until_ctrl_c() -> Iterator[Transaction]:
        for i, txn in enumerate(sample_transactions(100, date(2026, 11, 20))):
            if i == 60:
                raise KeyboardInterrupt
            yield txn

    report = publish(market, until_ctrl_c())
    assert report.interrupted and report.sent == 60
    assert len(consume(market, report)) == 60


def test_speed_paces_by_event_time(market: Settings) -> None:
    trades = list(sample_transactions(3, date(2026, 11, 20)))  # 2h10m apart in event time
    gaps = (trades[1].timestamp - trades[0].timestamp).total_seconds()
    waits: list[float] = []
    report = publish(market, trades, speed=gaps / 2, sleep=waits.append)  # each gap becomes 2 s
    assert report.sent == 3
    # The schedule is absolute from the first event (no drift): as this sleep does not pass real
    # time, the trades wait 2 s and 4 s after the start, less the little time sending took.
    assert len(waits) == 2
    assert waits[0] == pytest.approx(2.0, abs=0.5)
    assert waits[1] == pytest.approx(4.0, abs=0.5)


def test_replaying_a_range_without_bars_says_to_extract(market: Settings) -> None:
    from stockstream.errors import StockstreamError

    with pytest.raises(StockstreamError) as info:
        replay_days(market, date(2020, 1, 6), date(2020, 1, 7))
    assert info.value.hint is not None and "stockstream extract --start 2020-01-06" in info.value.hint


def test_seed_csv_round_trip_through_the_broker(market: Settings, tmp_path: Path) -> None:
    path = tmp_path / "seed.csv"
    path.write_text(
        "ticker,timestamp,price,volume,action\n"
        "AAPL,2026-11-20 15:59:00,229.1,300,SELL\n"
        "AAPL,2026-11-20 09:30:00,227.5,100,BUY\n"
        "MSFT,2026-11-20 12:00:00,480.25,50,BUY\n"
    )
    trades = read_seed_csv(path, "America/New_York", {"AAPL": "USD", "MSFT": "USD"})
    report = publish(market, trades)
    received = consume(market, report)
    assert sorted(
        (key, value["timestamp"], value["price"], value["volume"]) for key, value, _ in received
    ) == [
        ("AAPL", "2026-11-20T14:30:00.000Z", 227.5, 100),
        ("AAPL", "2026-11-20T20:59:00.000Z", 229.1, 300),
        ("MSFT", "2026-11-20T17:00:00.000Z", 480.25, 50),
    ]
    assert {value["txn_id"] for _, value, _ in received} == {t.txn_id for t in trades}
