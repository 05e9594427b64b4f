"""gold transforms on tiny silver frames: every expected row is worked out by hand below."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime

import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.testing import assertDataFrameEqual

from stockstream.pipeline.gold import (
    action_daily,
    country_daily,
    group_daily,
    industry_daily,
    minute_bars,
    realised_volatility_pct,
    stock_daily,
    tech_daily,
)
from tests.unit.ddl_columns import ddl_columns

pytestmark = pytest.mark.unit

D1 = date(2026, 10, 6)
D2 = date(2026, 10, 7)
TECH, CYCL = "Technology", "Consumer Cyclical"
CE, SW, AUTO = "Consumer Electronics", "Software - Infrastructure", "Auto Manufacturers"
US, JP = "United States", "Japan"

SILVER_SCHEMA = (
    "txn_id string, event_time timestamp, price double, volume bigint, action string, trade_date date, "
    "ticker string, sector string, industry string, country string, currency string"
)


def t(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, second)


AAPL = ("AAPL", TECH, CE, US, "USD")
MSFT = ("MSFT", TECH, SW, US, "USD")
SONY = ("6758.T", TECH, CE, JP, "JPY")
TOYOTA = ("7203.T", CYCL, AUTO, JP, "JPY")
NOIND = ("XYZ", TECH, None, US, "USD")  # reference data without an industry

# Deliberately not in event-time order.
SILVER_ROWS = [
    ("a3", t(6, 14, 31), 110.0, 20, "SELL", D1, *AAPL),
    ("a1", t(6, 14, 30), 100.0, 10, "BUY", D1, *AAPL),
    ("a2", t(6, 14, 30, 30), 105.0, 30, "BUY", D1, *AAPL),
    ("a4", t(7, 14, 30), 120.0, 7, "BUY", D2, *AAPL),
    # Two ties in event time: txn_id decides, m1 opens and m4 closes.
    ("m2", t(6, 14, 30), 200.0, 5, "BUY", D1, *MSFT),
    ("m4", t(6, 15, 0), 220.0, 10, "BUY", D1, *MSFT),
    ("m1", t(6, 14, 30), 210.0, 5, "SELL", D1, *MSFT),
    ("m3", t(6, 15, 0), 190.0, 10, "SELL", D1, *MSFT),
    ("s1", t(6, 0, 5), 3000.0, 100, "BUY", D1, *SONY),
    ("s2", t(6, 0, 6), 3000.0, 50, "SELL", D1, *SONY),
    # 23:59:30 UTC on the 5th is 08:59:30 on the 6th in Tokyo: trade_date D1.
    ("t2", t(6, 0, 0, 10), 2450.0, 100, "BUY", D1, *TOYOTA),
    ("t1", t(5, 23, 59, 30), 2500.0, 200, "SELL", D1, *TOYOTA),
    ("x1", t(6, 16, 0), 2.0, 1000, "BUY", D1, *NOIND),
    ("x2", t(6, 16, 1), 3.0, 1000, "SELL", D1, *NOIND),
]


def vol(*prices: float) -> float:
    """sqrt(sum of squared log returns of consecutive prices) * 100, prices in event-time order."""
    return math.sqrt(sum(math.log(b / a) ** 2 for a, b in itertools.pairwise(prices))) * 100


STOCK_SCHEMA = (
    "trade_date date, ticker string, open double, high double, low double, close double, volume bigint, "
    "trades bigint, vwap double, buy_volume bigint, sell_volume bigint, growth_pct double, "
    "realised_volatility_pct double, sector string, industry string, country string, currency string"
)
EXPECTED_STOCKS = [
    # trade_date, ticker, open, high, low, close, volume, trades, vwap, buy, sell, growth, volatility, ...
    (
        D1,
        "AAPL",
        100.0,
        110.0,
        100.0,
        110.0,
        60,
        3,
        (100 * 10 + 105 * 30 + 110 * 20) / 60,
        40,
        20,
        10.0,
        vol(100, 105, 110),
        TECH,
        CE,
        US,
        "USD",
    ),
    (D2, "AAPL", 120.0, 120.0, 120.0, 120.0, 7, 1, 120.0, 7, 0, 0.0, 0.0, TECH, CE, US, "USD"),
    (
        D1,
        "MSFT",
        210.0,
        220.0,
        190.0,
        220.0,
        30,
        4,
        (200 * 5 + 210 * 5 + 190 * 10 + 220 * 10) / 30,
        15,
        15,
        (220 - 210) / 210 * 100,
        vol(210, 200, 190, 220),
        TECH,
        SW,
        US,
        "USD",
    ),
    (D1, "6758.T", 3000.0, 3000.0, 3000.0, 3000.0, 150, 2, 3000.0, 100, 50, 0.0, 0.0, TECH, CE, JP, "JPY"),
    (
        D1,
        "7203.T",
        2500.0,
        2500.0,
        2450.0,
        2450.0,
        300,
        2,
        (2500 * 200 + 2450 * 100) / 300,
        100,
        200,
        -2.0,
        vol(2500, 2450),
        CYCL,
        AUTO,
        JP,
        "JPY",
    ),
    (D1, "XYZ", 2.0, 3.0, 2.0, 3.0, 2000, 2, 2.5, 1000, 1000, 50.0, vol(2, 3), TECH, None, US, "USD"),
]


@pytest.fixture(scope="module")
def silver(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(SILVER_ROWS, SILVER_SCHEMA)


def test_stock_daily_rows(spark: SparkSession, silver: DataFrame) -> None:
    daily = stock_daily(silver)
    assert daily.dtypes == ddl_columns("gold.stock_daily")
    expected = spark.createDataFrame(EXPECTED_STOCKS, STOCK_SCHEMA)
    assertDataFrameEqual(daily.drop("updated_at"), expected, rtol=1e-12)


def test_vwap_is_exact_for_prices_with_eight_decimals(spark: SparkSession) -> None:
    silver = spark.createDataFrame(
        [
            ("p1", t(6, 14, 30), 0.12345678, 1, "BUY", D1, "PENNY", None, None, None, "USD"),
            ("p2", t(6, 14, 31), 0.12345679, 1, "BUY", D1, "PENNY", None, None, None, "USD"),
        ],
        SILVER_SCHEMA,
    )
    row = stock_daily(silver).select("vwap").first()
    assert row is not None
    assert row.vwap == pytest.approx(0.123456785, rel=1e-12, abs=0)


def test_realised_volatility_sorts_by_event_time_then_txn_id() -> None:
    compute = realised_volatility_pct.func  # the pandas function behind the UDF
    times = pd.to_datetime(["2026-10-06 15:00", "2026-10-06 14:30", "2026-10-06 14:30", "2026-10-06 15:00"])
    result = compute(times, pd.Series(["m4", "m2", "m1", "m3"]), pd.Series([220.0, 200.0, 210.0, 190.0]))
    assert result == pytest.approx(vol(210, 200, 190, 220), rel=1e-12)
    assert compute(times[:1], pd.Series(["a"]), pd.Series([5.0])) == 0.0


def test_action_daily_rows(spark: SparkSession, silver: DataFrame) -> None:
    actions = action_daily(silver)
    assert actions.dtypes == ddl_columns("gold.action_daily")
    expected = spark.createDataFrame(
        [
            # BUY on D1: a1 10, a2 30, m2 5, m4 10, s1 100, t2 100, x1 1000
            (D1, "BUY", 7, 10 + 30 + 5 + 10 + 100 + 100 + 1000),
            # SELL on D1: a3 20, m1 5, m3 10, s2 50, t1 200, x2 1000
            (D1, "SELL", 6, 20 + 5 + 10 + 50 + 200 + 1000),
            (D2, "BUY", 1, 7),
        ],
        "trade_date date, action string, trades bigint, shares bigint",
    )
    assertDataFrameEqual(actions.drop("updated_at"), expected)


def test_minute_bars_rows(spark: SparkSession, silver: DataFrame) -> None:
    bars = minute_bars(silver)
    assert bars.dtypes == ddl_columns("gold.minute_bars")
    expected = spark.createDataFrame(
        [
            # [14:30, 14:31): a1, a2; a3 at exactly 14:31 opens the next window
            ("AAPL", t(6, 14, 30), t(6, 14, 31), D1, 100.0, 105.0, 100.0, 105.0, 40, 2),
            ("AAPL", t(6, 14, 31), t(6, 14, 32), D1, 110.0, 110.0, 110.0, 110.0, 20, 1),
            ("AAPL", t(7, 14, 30), t(7, 14, 31), D2, 120.0, 120.0, 120.0, 120.0, 7, 1),
            # tie at 14:30: m1 opens, m2 closes; tie at 15:00: m3 opens, m4 closes
            ("MSFT", t(6, 14, 30), t(6, 14, 31), D1, 210.0, 210.0, 200.0, 200.0, 10, 2),
            ("MSFT", t(6, 15, 0), t(6, 15, 1), D1, 190.0, 220.0, 190.0, 220.0, 20, 2),
            ("6758.T", t(6, 0, 5), t(6, 0, 6), D1, 3000.0, 3000.0, 3000.0, 3000.0, 100, 1),
            ("6758.T", t(6, 0, 6), t(6, 0, 7), D1, 3000.0, 3000.0, 3000.0, 3000.0, 50, 1),
            # the window lies on the 5th in UTC: its trade_date is the trades' (Tokyo) day
            ("7203.T", t(5, 23, 59), t(6, 0, 0), D1, 2500.0, 2500.0, 2500.0, 2500.0, 200, 1),
            ("7203.T", t(6, 0, 0), t(6, 0, 1), D1, 2450.0, 2450.0, 2450.0, 2450.0, 100, 1),
            ("XYZ", t(6, 16, 0), t(6, 16, 1), D1, 2.0, 2.0, 2.0, 2.0, 1000, 1),
            ("XYZ", t(6, 16, 1), t(6, 16, 2), D1, 3.0, 3.0, 3.0, 3.0, 1000, 1),
        ],
        "ticker string, window_start timestamp, window_end timestamp, trade_date date, open double, "
        "high double, low double, close double, volume bigint, trades bigint",
    )
    assertDataFrameEqual(bars, expected)


# gold.stock_daily rows for the group tables: round growths so the means are easy to check.
STOCKS_SCHEMA = (
    "trade_date date, ticker string, growth_pct double, volume bigint, sector string, industry string, "
    "country string"
)
STOCKS = [
    (D1, "AAPL", 10.0, 60, TECH, CE, US),
    (D1, "MSFT", 4.0, 30, TECH, SW, US),
    (D1, "6758.T", 0.0, 150, TECH, CE, JP),  # flat: not growing
    (D1, "7203.T", -2.0, 300, CYCL, AUTO, JP),
    (D1, "XYZ", 50.0, 2000, TECH, None, US),  # no industry: only in country_daily
    (D1, "NOREF", 7.0, 5, None, None, None),  # no reference data: in no group table
    (D2, "AAPL", 0.0, 7, TECH, CE, US),
]
GROUP_COLUMNS = "growth_pct double, volume bigint, stocks int, growing_stocks int"


@pytest.fixture(scope="module")
def stocks(spark: SparkSession) -> DataFrame:
    return spark.createDataFrame(STOCKS, STOCKS_SCHEMA)


def test_industry_daily_rows(spark: SparkSession, stocks: DataFrame) -> None:
    industries = industry_daily(stocks)
    assert industries.dtypes == ddl_columns("gold.industry_daily")
    expected = spark.createDataFrame(
        [
            (D1, CE, (10.0 + 0.0) / 2, 60 + 150, 2, 1),
            (D1, SW, 4.0, 30, 1, 1),
            (D1, AUTO, -2.0, 300, 1, 0),
            (D2, CE, 0.0, 7, 1, 0),
        ],
        f"trade_date date, industry string, {GROUP_COLUMNS}",
    )
    assertDataFrameEqual(industries.drop("updated_at"), expected, rtol=1e-12)


def test_country_daily_rows(spark: SparkSession, stocks: DataFrame) -> None:
    countries = country_daily(stocks)
    assert countries.dtypes == ddl_columns("gold.country_daily")
    expected = spark.createDataFrame(
        [
            (D1, US, (10.0 + 4.0 + 50.0) / 3, 60 + 30 + 2000, 3, 3),
            (D1, JP, (0.0 - 2.0) / 2, 150 + 300, 2, 0),
            (D2, US, 0.0, 7, 1, 0),
        ],
        f"trade_date date, country string, {GROUP_COLUMNS}",
    )
    assertDataFrameEqual(countries.drop("updated_at"), expected, rtol=1e-12)


def test_group_daily_groups_by_any_column(spark: SparkSession, stocks: DataFrame) -> None:
    sectors = group_daily(stocks, "sector")
    expected = spark.createDataFrame(
        [
            (D1, TECH, (10.0 + 4.0 + 0.0 + 50.0) / 4, 60 + 30 + 150 + 2000, 4, 3),
            (D1, CYCL, -2.0, 300, 1, 0),
            (D2, TECH, 0.0, 7, 1, 0),
        ],
        f"trade_date date, sector string, {GROUP_COLUMNS}",
    )
    assertDataFrameEqual(sectors.drop("updated_at"), expected, rtol=1e-12)


def test_tech_daily_rows(spark: SparkSession, stocks: DataFrame) -> None:
    tech = tech_daily(stocks)
    assert tech.dtypes == ddl_columns("gold.tech_daily")
    expected = spark.createDataFrame(
        [
            (D1, CE, TECH, 5.0, 210, 2, 1),
            (D1, SW, TECH, 4.0, 30, 1, 1),
            (D2, CE, TECH, 0.0, 7, 1, 0),
        ],
        f"trade_date date, industry string, sector string, {GROUP_COLUMNS}",
    )
    assertDataFrameEqual(tech.drop("updated_at"), expected, rtol=1e-12)


def test_group_growth_mean_is_exact_in_decimal(spark: SparkSession) -> None:
    # 0.1 + 0.2 + 0.3 in doubles depends on the order; the mean is 0.2 either way.
    frame = spark.createDataFrame(
        [(D1, "A", 0.1, 1, TECH, CE, US), (D1, "B", 0.2, 1, TECH, CE, US), (D1, "C", 0.3, 1, TECH, CE, US)],
        STOCKS_SCHEMA,
    )
    row = industry_daily(frame).select("growth_pct").first()
    assert row is not None and row.growth_pct == 0.2
