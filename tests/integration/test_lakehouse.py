"""The streaming lakehouse on real parts: the real broker, Spark Structured Streaming and Delta.

One instance of its own (data root, topic), driven with availableNow runs: two simulated days
plus malformed records and duplicates; then a replay of a day again, and a backfill of an older
day. Expected values come from the simulator's own transactions and daily bars, computed in
Python independently of Spark.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from delta.tables import DeltaTable
from kafka import KafkaProducer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from stockstream.broker.admin import ensure_topic
from stockstream.completion import day_completion
from stockstream.config import Settings
from stockstream.market.day_replay import replay_days
from stockstream.market.extract import choose_source, extract
from stockstream.market.intraday import load_plan, transactions
from stockstream.market.transactions import Transaction
from stockstream.pipeline.alerts import Params, TickerState, scan
from stockstream.pipeline.finalize import FinalizeReport, finalize_day, finalize_days
from stockstream.pipeline.stream import run
from stockstream.tables import (
    ACTION_DAILY,
    ALERTS,
    BRONZE_TRANSACTIONS,
    COUNTRY_DAILY,
    DAILY_BARS,
    DATA_QUALITY,
    INDUSTRY_DAILY,
    MINUTE_BARS,
    SILVER_QUARANTINE,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    STREAM_PROGRESS,
    TECH_DAILY,
    table,
)

pytestmark = pytest.mark.integration

OLD, D1, D2 = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)
GOLD = (STOCK_DAILY, INDUSTRY_DAILY, COUNTRY_DAILY, TECH_DAILY, ACTION_DAILY)

VALID = {
    "txn_id": "t-valid",
    "ticker": "AAPL",
    "timestamp": "2026-10-06T15:00:00.000Z",
    "price": 10.0,
    "volume": 5,
    "action": "BUY",
    "currency": "USD",
    "schema_version": 1,
}


def bad(**changes: object) -> bytes:
    record = {**VALID, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not None}).encode()


# (value, expected reason): each record is a distinct way of being wrong.
MALFORMED: list[tuple[bytes | None, str]] = [
    (b"not json at all", "unparseable_json"),
    (b"[1, 2, 3]", "unparseable_json"),
    (b"\xff\xfe\x00garbage", "unparseable_json"),
    (b"", "unparseable_json"),
    (None, "unparseable_json"),
    (b'{"txn_id": "x", "padding": "' + b"a" * 20_000 + b'"}', "oversized_payload"),
    (bad(schema_version=2, txn_id="t-v2"), "unknown_schema_version"),
    (bad(schema_version=None, txn_id="t-nov"), "missing_field"),
    (bad(price=None, txn_id="t-noprice"), "missing_field"),
    (bad(price="ten", txn_id="t-str"), "wrong_type"),
    (bad(volume=1.5, txn_id="t-frac"), "wrong_type"),
    (bad(timestamp="yesterday", txn_id="t-ts"), "wrong_type"),
    (bad(price=-1.0, txn_id="t-neg"), "non_positive_price"),
    (bad(volume=0, txn_id="t-zero"), "non_positive_volume"),
    (bad(action="HOLD", txn_id="t-hold"), "unknown_action"),
    (bad(ticker="NOPE", txn_id="t-nope"), "unknown_ticker"),
    (bad(timestamp="1999-12-31T10:00:00Z", txn_id="t-old"), "timestamp_out_of_range"),
    (bad(timestamp="2099-01-01T10:00:00Z", txn_id="t-future"), "timestamp_out_of_range"),
]


@pytest.fixture(scope="module")
def lake(broker: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """An instance of its own on the session's broker: own data root, own topic, small days."""
    settings = broker.model_copy(
        update={
            "data_root": tmp_path_factory.mktemp("lakehouse"),
            "topic": "lakehouse-test",
            "sim_trades_per_day": 40,
        }
    )
    ensure_topic(settings)
    return settings


@pytest.fixture(scope="module")
def expected(lake: Settings, spark: SparkSession) -> dict[date, list[Transaction]]:
    """Reference data and bars for OLD..D2, and the transactions the simulator makes of them."""
    extract(lake, OLD, D2, source=choose_source(lake, "offline"))
    plan = load_plan(lake, OLD, D2)
    days: dict[date, list[Transaction]] = defaultdict(list)
    for day, txn in transactions(plan, lake):
        days[day].append(txn)
    return days


def publish_raw(settings: Settings, values: list[bytes | None], key: bytes = b"AAPL") -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all")
    try:
        for value in values:
            producer.send(settings.topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def day_rows(spark: SparkSession, settings: Settings, name: str, day: date) -> DataFrame:
    return table(name).read(spark, settings).where(F.col("trade_date") == F.lit(day))


def content_hash(spark: SparkSession, settings: Settings, name: str, after: date | None = None) -> str:
    """Every row of a table (of the days after `after`), updated_at included, canonically ordered."""
    frame = table(name).read(spark, settings)
    if after is not None:
        frame = frame.where(F.col("trade_date") > F.lit(after))
    rows = sorted(
        json.dumps(row.asDict(recursive=True), default=str, sort_keys=True) for row in frame.collect()
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def assert_gold_matches_bars(spark: SparkSession, settings: Settings, day: date) -> dict[str, Any]:
    """Invariant 1, source fidelity: every ticker's gold OHLCV equals its daily bar."""
    bars = {r.ticker: r for r in day_rows(spark, settings, DAILY_BARS, day).collect()}
    gold = {r.ticker: r for r in day_rows(spark, settings, STOCK_DAILY, day).collect()}
    assert set(gold) == set(bars) and len(gold) == 53
    for ticker, row in gold.items():
        bar = bars[ticker]
        got = (row.open, row.high, row.low, row.close, row.volume)
        assert got == (bar.open, bar.high, bar.low, bar.close, bar.volume), ticker
    return gold


def expected_stock_daily(txns: list[Transaction]) -> dict[str, dict[str, object]]:
    """The gold.stock_daily values of one day, computed in Python."""
    out: dict[str, dict[str, object]] = {}
    by_ticker: dict[str, list[Transaction]] = defaultdict(list)
    for txn in txns:
        by_ticker[txn.ticker].append(txn)
    for ticker, trades in by_ticker.items():
        trades.sort(key=lambda t: (t.timestamp, t.txn_id))
        volume = sum(t.volume for t in trades)
        notional = sum(Decimal(repr(t.price)) * t.volume for t in trades)
        out[ticker] = {
            "open": trades[0].price,
            "close": trades[-1].price,
            "high": max(t.price for t in trades),
            "low": min(t.price for t in trades),
            "volume": volume,
            "trades": len(trades),
            "vwap": float(notional / volume),
            "buy_volume": sum(t.volume for t in trades if t.action == "BUY"),
            "sell_volume": sum(t.volume for t in trades if t.action == "SELL"),
        }
    return out


@pytest.fixture(scope="module")
def streamed(lake: Settings, spark: SparkSession, expected: dict[date, list[Transaction]]) -> Settings:
    """D1 and D2 replayed, malformed records and duplicates sent, one availableNow run."""
    replay_days(lake, D1, D2)
    publish_raw(lake, [value for value, _ in MALFORMED])
    # Duplicates: five records of D1 again, as a replaying producer would send them.
    publish_raw(lake, [txn.to_json() for txn in expected[D1][:5]], key=expected[D1][0].ticker.encode())
    run(lake, available_now=True)
    return lake


def test_silver_holds_each_valid_transaction_once(
    streamed: Settings, spark: SparkSession, expected: dict[date, list[Transaction]]
) -> None:
    silver = table(SILVER_TRANSACTIONS).read(spark, streamed)
    for day in (D1, D2):
        ids = [
            row.txn_id for row in silver.where(F.col("trade_date") == F.lit(day)).select("txn_id").collect()
        ]
        assert sorted(ids) == sorted(t.txn_id for t in expected[day]), f"silver of {day}"
    sample = expected[D1][0]
    row = silver.where(F.col("txn_id") == sample.txn_id).first()
    assert row is not None
    assert (row.ticker, row.price, row.volume, row.action, row.currency, row.schema_version) == (
        sample.ticker,
        sample.price,
        sample.volume,
        sample.action,
        sample.currency,
        1,
    )
    assert row.event_time == sample.timestamp.replace(tzinfo=None)
    assert row.trade_date == D1 and row.sector is not None and row.exchange_timezone is not None


def test_each_malformed_record_is_quarantined_with_its_reason(
    streamed: Settings, spark: SparkSession
) -> None:
    rows = table(SILVER_QUARANTINE).read(spark, streamed).orderBy("partition", "offset").collect()

    def order(item: tuple[bytes | None, str]) -> tuple[bool, bytes]:
        return item[0] is not None, item[0] or b""

    got = sorted(((bytes(r.value) if r.value is not None else None, r.reason) for r in rows), key=order)
    assert got == sorted(MALFORMED, key=order)
    assert all(r.detail for r in rows), "every rejection says why"
    silver = table(SILVER_TRANSACTIONS).read(spark, streamed)
    assert silver.where(F.col("txn_id").startswith("t-")).count() == 0, "no malformed record reaches silver"


def test_gold_matches_the_daily_bars_and_the_transactions(
    streamed: Settings, spark: SparkSession, expected: dict[date, list[Transaction]]
) -> None:
    for day in (D1, D2):
        gold = assert_gold_matches_bars(spark, streamed, day)
        want = expected_stock_daily(expected[day])
        for ticker, row in gold.items():
            w = want[ticker]
            assert (row.trades, row.buy_volume, row.sell_volume) == (
                w["trades"],
                w["buy_volume"],
                w["sell_volume"],
            )
            assert row.vwap == pytest.approx(w["vwap"], rel=1e-12)
            # open and close equal the bar's (checked above).
            assert row.growth_pct == pytest.approx((row.close - row.open) / row.open * 100, rel=1e-12)
        actions = {
            r.action: (r.trades, r.shares) for r in day_rows(spark, streamed, ACTION_DAILY, day).collect()
        }
        for action in ("BUY", "SELL"):
            mine = [t for t in expected[day] if t.action == action]
            assert actions[action] == (len(mine), sum(t.volume for t in mine))


def test_group_tables_are_equal_weight_means_of_their_stocks(streamed: Settings, spark: SparkSession) -> None:
    stocks = day_rows(spark, streamed, STOCK_DAILY, D1).toPandas()
    for name, column, members in (
        (INDUSTRY_DAILY, "industry", stocks),
        (COUNTRY_DAILY, "country", stocks),
        (TECH_DAILY, "industry", stocks[stocks.sector == "Technology"]),
    ):
        got = day_rows(spark, streamed, name, D1).toPandas().set_index(column).sort_index()
        want = (
            members.groupby(column)
            .agg(
                growth_pct=("growth_pct", "mean"),
                volume=("volume", "sum"),
                stocks=("ticker", "count"),
                growing_stocks=("growth_pct", lambda g: int((g > 0).sum())),
            )
            .sort_index()
        )
        assert list(got.index) == list(want.index), name
        assert got.growth_pct.tolist() == pytest.approx(want.growth_pct.tolist(), rel=1e-12)
        assert got.volume.tolist() == want.volume.tolist()
        assert got.stocks.tolist() == want.stocks.tolist()
        assert got.growing_stocks.tolist() == want.growing_stocks.tolist()
    assert len(day_rows(spark, streamed, TECH_DAILY, D1).collect()) >= 3, "several Technology industries"


def test_stream_progress_says_both_days_are_complete(streamed: Settings, spark: SparkSession) -> None:
    for day in (D1, D2):
        assert day_completion(streamed, day).complete
    silver = table(STREAM_PROGRESS).read(spark, streamed).where(F.col("query_name") == "silver")
    totals = silver.agg(F.sum("input_rows"), F.sum("quarantined_rows"), F.sum("duplicate_rows")).first()
    assert totals is not None
    assert tuple(totals) == (53 * 40 * 2 + len(MALFORMED) + 5, len(MALFORMED), 5)
    bronze_rows = table(STREAM_PROGRESS).read(spark, streamed).where(F.col("query_name") == "bronze")
    assert bronze_rows.agg(F.sum("input_rows")).first()[0] == 53 * 40 * 2 + len(MALFORMED) + 5  # type: ignore[index]


@pytest.fixture(scope="module")
def finalized(streamed: Settings, spark: SparkSession) -> list[FinalizeReport]:
    """D1 and D2 finalised once (the finaliser re-validates bronze once for both)."""
    return finalize_days(spark, streamed, [D1, D2])


def test_minute_bars_and_alerts_follow_the_trades(
    streamed: Settings,
    spark: SparkSession,
    expected: dict[date, list[Transaction]],
    finalized: list[FinalizeReport],
) -> None:
    # The finaliser closes what the watermark left open (the last minutes of the last day).
    assert all(report.passed for report in finalized)
    ticker = "AAPL"
    trades = sorted(
        (t for day in (D1, D2) for t in expected[day] if t.ticker == ticker),
        key=lambda t: (t.timestamp, t.txn_id),
    )
    frame = pd.DataFrame(
        {
            "minute": [t.timestamp.replace(second=0, microsecond=0, tzinfo=None) for t in trades],
            "price": [t.price for t in trades],
            "volume": [t.volume for t in trades],
        }
    )
    want = frame.groupby("minute").agg(
        open=("price", "first"),
        high=("price", "max"),
        low=("price", "min"),
        close=("price", "last"),
        volume=("volume", "sum"),
        trades=("price", "count"),
    )
    got = (
        table(MINUTE_BARS)
        .read(spark, streamed)
        .where(F.col("ticker") == ticker)
        .orderBy("window_start")
        .toPandas()
    )
    assert got.window_start.tolist() == want.index.tolist()
    assert (got.window_end - got.window_start).unique().tolist() == [pd.Timedelta(minutes=1)]
    for column in ("open", "high", "low", "close", "volume", "trades"):
        assert got[column].tolist() == want[column].tolist(), column

    # Alerts: the detector run in Python over each ticker's whole sequence finds the same ones.
    params = Params(streamed.alert_baseline_trades, streamed.alert_spike_factor, streamed.alert_run_length)
    wanted: set[tuple[str, str]] = set()
    by_ticker: dict[str, list[Transaction]] = defaultdict(list)
    for day in (D1, D2):
        for t in expected[day]:
            by_ticker[t.ticker].append(t)
    for name, txns in by_ticker.items():
        seq = pd.DataFrame(
            {
                "event_time": [t.timestamp.replace(tzinfo=None) for t in txns],
                "txn_id": [t.txn_id for t in txns],
                "price": [t.price for t in txns],
                "volume": [t.volume for t in txns],
                "trade_date": [D1 if t in expected[D1] else D2 for t in txns],
            }
        )
        alerts, _ = scan(name, seq, TickerState(), params, datetime(2026, 1, 1))
        wanted |= {(a["alert_id"], a["pattern"]) for a in alerts}
    got_alerts = {(r.alert_id, r.pattern) for r in table(ALERTS).read(spark, streamed).collect()}
    assert wanted, "two days of 53 tickers raise some alerts"
    assert got_alerts == wanted


def test_finalize_records_passing_checks(
    streamed: Settings, spark: SparkSession, finalized: list[FinalizeReport]
) -> None:
    report = finalized[0]
    assert report.trade_date == D1
    assert {c.name: c.status for c in report.checks} == {
        "stream_complete": "pass",
        "stream_equals_batch": "pass",
        "source_fidelity": "pass",
        "conservation": "pass",
        "quarantine_complete": "pass",
    }
    conservation = next(c for c in report.checks if c.name == "conservation")
    assert (conservation.expected, conservation.observed) == (53 * 40 + 5, 53 * 40 + 5)
    recorded = day_rows(spark, streamed, DATA_QUALITY, D1).collect()
    assert {r.check_name for r in recorded} == {c.name for c in report.checks}


def test_finalize_finds_and_repairs_gold_that_differs_from_the_batch(
    streamed: Settings, spark: SparkSession, finalized: list[FinalizeReport]
) -> None:
    """Invariant 2 can fail: a tampered stock row and a lost industry row are counted, then put back."""

    def values(name: str) -> list[str]:
        rows = day_rows(spark, streamed, name, D1).drop("updated_at").collect()
        return sorted(json.dumps(row.asDict(), default=str, sort_keys=True) for row in rows)

    before = {name: values(name) for name in (STOCK_DAILY, INDUSTRY_DAILY)}
    industry = day_rows(spark, streamed, INDUSTRY_DAILY, D1).orderBy("industry").first()["industry"]  # type: ignore[index]
    day = F.col("trade_date") == F.lit(D1)
    DeltaTable.forPath(spark, str(table(STOCK_DAILY).path(streamed))).update(
        day & (F.col("ticker") == "AAPL"), {"close": F.col("close") + 1}
    )
    industries = DeltaTable.forPath(spark, str(table(INDUSTRY_DAILY).path(streamed)))
    industries.delete(day & (F.col("industry") == industry))
    report = finalize_day(spark, streamed, D1)
    check = next(c for c in report.checks if c.name == "stream_equals_batch")
    assert (check.status, check.observed) == ("fail", 2.0)
    assert check.detail == f"rows the batch recomputation changed: {STOCK_DAILY} 1, {INDUSTRY_DAILY} 1"
    assert {name: values(name) for name in (STOCK_DAILY, INDUSTRY_DAILY)} == before


def test_replaying_a_day_again_changes_no_gold_row(streamed: Settings, spark: SparkSession) -> None:
    before = {name: content_hash(spark, streamed, name) for name in (*GOLD, SILVER_TRANSACTIONS)}
    replay_days(streamed, D1, D1)
    run(streamed, available_now=True)
    after = {name: content_hash(spark, streamed, name) for name in (*GOLD, SILVER_TRANSACTIONS)}
    assert after == before


def test_backfilling_an_older_day_gives_it_correct_gold(
    streamed: Settings, spark: SparkSession, expected: dict[date, list[Transaction]]
) -> None:
    newer = {name: content_hash(spark, streamed, name, after=OLD) for name in GOLD}
    replay_days(streamed, OLD, OLD)
    run(streamed, available_now=True)
    assert_gold_matches_bars(spark, streamed, OLD)
    assert day_rows(spark, streamed, ACTION_DAILY, OLD).agg(F.sum("trades")).first()[0] == len(expected[OLD])  # type: ignore[index]
    # The watermark is past the old day: its live minute bars were dropped, the finaliser adds them.
    assert day_rows(spark, streamed, MINUTE_BARS, OLD).count() == 0
    report = finalize_day(spark, streamed, OLD)
    assert report.passed, report.first_failure
    minutes = {(t.ticker, t.timestamp.replace(second=0, microsecond=0)) for t in expected[OLD]}
    assert report.gold_rows[MINUTE_BARS] == len(minutes)
    # The newer days did not move, not even their updated_at.
    assert {name: content_hash(spark, streamed, name, after=OLD) for name in GOLD} == newer


def test_maintenance_compacts_without_changing_content(streamed: Settings, spark: SparkSession) -> None:
    from stockstream.pipeline.maintain import maintain

    before = {name: content_hash(spark, streamed, name) for name in (*GOLD, SILVER_TRANSACTIONS)}
    # Two tables: the same code runs for every table, and each one costs seconds on 2 cores.
    done = {
        item.table: item
        for item in maintain(spark, streamed, tables=(BRONZE_TRANSACTIONS, SILVER_TRANSACTIONS))
    }
    # bronze got one file per Kafka partition and micro-batch, all in today's ingest_date partition.
    bronze = done[BRONZE_TRANSACTIONS]
    assert bronze.files_compacted > 1 and bronze.files_after < bronze.files_before
    assert {name: content_hash(spark, streamed, name) for name in before} == before
    # The stream reads on after a compaction (OPTIMIZE commits carry no data change).
    assert run(streamed, available_now=True).input_rows == 0
