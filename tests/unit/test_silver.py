"""silver validation on tiny bronze frames: one record per reason code, the rule order, the typed
valid row with its exchange-local trade_date, de-duplication and the quarantine's shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from stockstream.pipeline.silver import (
    MAX_PAYLOAD_BYTES,
    Reason,
    first_per_txn,
    quarantine_records,
    valid_records,
    validate,
)
from tests.unit.ddl_columns import ddl_columns

pytestmark = pytest.mark.unit

BRONZE_SCHEMA = (
    "key string, value binary, topic string, partition int, offset bigint, "
    "kafka_timestamp timestamp, ingest_time timestamp, ingest_date date"
)
DIM_SCHEMA = (
    "ticker string, name string, sector string, industry string, country string, currency string, "
    "exchange string, exchange_timezone string"
)
DIM_ROWS = [
    (
        "AAPL",
        "Apple Inc.",
        "Technology",
        "Consumer Electronics",
        "United States",
        "USD",
        "NMS",
        "America/New_York",
    ),
    (
        "7203.T",
        "Toyota Motor Corporation",
        "Consumer Cyclical",
        "Auto Manufacturers",
        "Japan",
        "JPY",
        "JPX",
        "Asia/Tokyo",
    ),
]
# silver's dim columns: name, sector, industry, country, exchange, exchange_timezone (the currency is
# the event's own)
AAPL_DIM = ("Apple Inc.", "Technology", "Consumer Electronics", "United States", "NMS", "America/New_York")
TOYOTA_DIM = (
    "Toyota Motor Corporation",
    "Consumer Cyclical",
    "Auto Manufacturers",
    "Japan",
    "JPX",
    "Asia/Tokyo",
)

TOPIC = "transactions"
KAFKA_TIME = datetime(2026, 10, 6, 23, 30, 1)
INGEST_TIME = datetime(2026, 10, 6, 23, 30, 2)
DROP = object()  # a field value meaning "leave the field out"


def record(**fields: Any) -> bytes:
    """A contract record (valid unless a field is overridden) as compact UTF-8 JSON."""
    body: dict[str, Any] = {
        "txn_id": "t-valid",
        "ticker": "AAPL",
        "timestamp": "2026-10-06T23:30:00Z",
        "price": 187.25,
        "volume": 100,
        "action": "BUY",
        "currency": "USD",
        "schema_version": 1,
        **fields,
    }
    return json.dumps({k: v for k, v in body.items() if v is not DROP}, separators=(",", ":")).encode()


def with_price_text(text: str) -> bytes:
    """A valid record whose price is the literal JSON text given (e.g. NaN, 1e400)."""
    return record(price="@price@").replace(b'"@price@"', text.encode())


def padded(size: int) -> bytes:
    """A valid record padded with an extra field to exactly `size` bytes."""
    bare = record(txn_id=f"t-pad-{size}", note="")
    value = record(txn_id=f"t-pad-{size}", note="x" * (size - len(bare)))
    assert len(value) == size
    return value


# offset -> (value, expected reason, expected detail). One record per reason code, then records
# with two problems: the first rule in rules() order names the reason.
CASES: dict[int, tuple[bytes | None, Reason, str]] = {
    10: (
        b'{"txn_id": "t10", "ticker": ',
        Reason.UNPARSEABLE_JSON,
        'not a JSON object: {"txn_id": "t10", "ticker": ',
    ),
    11: (b"[1, 2]", Reason.UNPARSEABLE_JSON, "not a JSON object: [1, 2]"),
    12: (
        b"[" + record(txn_id="t12") + b"]",
        Reason.UNPARSEABLE_JSON,
        "not a JSON object: " + (b"[" + record(txn_id="t12") + b"]").decode()[:80],
    ),
    13: (b"null", Reason.UNPARSEABLE_JSON, "not a JSON object: null"),
    # An otherwise valid object: only the UTF-8 rule can catch it.
    14: (
        record(txn_id="t14").replace(b'"USD"', b'"US\xffD"'),
        Reason.UNPARSEABLE_JSON,
        "record value is not valid UTF-8",
    ),
    15: (b"", Reason.UNPARSEABLE_JSON, "empty record value"),
    16: (None, Reason.UNPARSEABLE_JSON, "empty record value"),
    17: (
        padded(MAX_PAYLOAD_BYTES + 1),
        Reason.OVERSIZED_PAYLOAD,
        "payload of 16385 bytes exceeds the 16384 byte limit",
    ),
    18: (
        record(txn_id="t18", schema_version=2),
        Reason.UNKNOWN_SCHEMA_VERSION,
        "schema_version 2 is not the supported 1",
    ),
    19: (
        record(txn_id="t19", schema_version=DROP),
        Reason.MISSING_FIELD,
        "field schema_version is missing or null",
    ),
    20: (
        record(txn_id="t20", schema_version="one"),
        Reason.WRONG_TYPE,
        "field schema_version must be an integer, got one",
    ),
    21: (record(txn_id="t21", price=DROP), Reason.MISSING_FIELD, "field price is missing or null"),
    22: (record(txn_id="t22", price=None), Reason.MISSING_FIELD, "field price is missing or null"),
    23: (record(txn_id=DROP), Reason.MISSING_FIELD, "field txn_id is missing or null"),
    24: (
        record(txn_id="t24", price="ten"),
        Reason.WRONG_TYPE,
        "field price must be a finite number, got ten",
    ),
    25: (with_price_text("NaN"), Reason.WRONG_TYPE, 'field price must be a finite number, got "NaN"'),
    26: (with_price_text("1e400"), Reason.WRONG_TYPE, 'field price must be a finite number, got "Infinity"'),
    27: (record(txn_id="t27", volume=1.5), Reason.WRONG_TYPE, "field volume must be an integer, got 1.5"),
    28: (
        record(txn_id="t28", timestamp="yesterday at noon"),
        Reason.WRONG_TYPE,
        "field timestamp must be an ISO-8601 timestamp, got yesterday at noon",
    ),
    29: (record(txn_id="t29", price=-1), Reason.NON_POSITIVE_PRICE, "price must be > 0, got -1"),
    30: (record(txn_id="t30", price=0), Reason.NON_POSITIVE_PRICE, "price must be > 0, got 0"),
    31: (record(txn_id="t31", volume=0), Reason.NON_POSITIVE_VOLUME, "volume must be > 0, got 0"),
    32: (
        record(txn_id="t32", action="HOLD"),
        Reason.UNKNOWN_ACTION,
        "action must be one of BUY, SELL, got HOLD",
    ),
    33: (
        record(txn_id="t33", action="buy"),
        Reason.UNKNOWN_ACTION,
        "action must be one of BUY, SELL, got buy",
    ),
    34: (
        record(txn_id="t34", ticker="ZZZZ"),
        Reason.UNKNOWN_TICKER,
        "ticker not in reference.dim_stock: ZZZZ",
    ),
    35: (
        record(txn_id="t35", timestamp="1999-12-31T23:59:59Z"),
        Reason.TIMESTAMP_OUT_OF_RANGE,
        "timestamp must lie between 2000-01-01 and tomorrow, got 1999-12-31T23:59:59Z",
    ),
    36: (
        record(txn_id="t36", timestamp="2099-01-01T00:00:00Z"),
        Reason.TIMESTAMP_OUT_OF_RANGE,
        "timestamp must lie between 2000-01-01 and tomorrow, got 2099-01-01T00:00:00Z",
    ),
    # Two problems each: the earlier rule wins.
    40: (
        record(txn_id="t40", price=DROP, action="HOLD"),
        Reason.MISSING_FIELD,
        "field price is missing or null",
    ),
    41: (
        record(txn_id="t41", price="ten", action="HOLD"),
        Reason.WRONG_TYPE,
        "field price must be a finite number, got ten",
    ),
    42: (record(txn_id="t42", price=-1, volume=0), Reason.NON_POSITIVE_PRICE, "price must be > 0, got -1"),
    43: (
        record(txn_id="t43", ticker="ZZZZ", timestamp="1999-06-01T00:00:00Z"),
        Reason.UNKNOWN_TICKER,
        "ticker not in reference.dim_stock: ZZZZ",
    ),
    44: (
        record(txn_id="t44", schema_version=2, price=DROP),
        Reason.UNKNOWN_SCHEMA_VERSION,
        "schema_version 2 is not the supported 1",
    ),
    45: (
        b"{" + b"x" * MAX_PAYLOAD_BYTES,
        Reason.OVERSIZED_PAYLOAD,
        "payload of 16385 bytes exceeds the 16384 byte limit",
    ),
    46: (
        record(txn_id="t46", volume=0, action="HOLD", ticker="ZZZZ"),
        Reason.NON_POSITIVE_VOLUME,
        "volume must be > 0, got 0",
    ),
}

# offset -> the valid records and their exact silver rows.
VALID: dict[int, bytes] = {
    0: record(txn_id="t-aapl"),
    1: record(txn_id="t-toyota", ticker="7203.T", price=2650.5, volume=300, action="SELL", currency="JPY"),
    2: padded(MAX_PAYLOAD_BYTES),
    3: record(txn_id="t-y2k", timestamp="2000-01-01T00:00:00Z", volume=1),
}
EXPECTED_VALID = [
    # txn_id, ticker, event_time, price, volume, action, currency, schema_version, trade_date,
    # name, sector, industry, country, exchange, exchange_timezone, topic, partition, offset, ingest_time
    # 23:30 UTC is 19:30 the same day in New York ...
    (
        "t-aapl",
        "AAPL",
        datetime(2026, 10, 6, 23, 30),
        187.25,
        100,
        "BUY",
        "USD",
        1,
        date(2026, 10, 6),
        *AAPL_DIM,
        TOPIC,
        0,
        0,
        INGEST_TIME,
    ),
    # ... and 08:30 the next morning in Tokyo.
    (
        "t-toyota",
        "7203.T",
        datetime(2026, 10, 6, 23, 30),
        2650.5,
        300,
        "SELL",
        "JPY",
        1,
        date(2026, 10, 7),
        *TOYOTA_DIM,
        TOPIC,
        0,
        1,
        INGEST_TIME,
    ),
    (
        "t-pad-16384",
        "AAPL",
        datetime(2026, 10, 6, 23, 30),
        187.25,
        100,
        "BUY",
        "USD",
        1,
        date(2026, 10, 6),
        *AAPL_DIM,
        TOPIC,
        0,
        2,
        INGEST_TIME,
    ),
    # The first instant allowed is in 1999 in New York.
    (
        "t-y2k",
        "AAPL",
        datetime(2000, 1, 1),
        187.25,
        1,
        "BUY",
        "USD",
        1,
        date(1999, 12, 31),
        *AAPL_DIM,
        TOPIC,
        0,
        3,
        INGEST_TIME,
    ),
]


def bronze_frame(spark: SparkSession, values: dict[int, bytes | None], partition: int = 0) -> DataFrame:
    rows = [
        ("AAPL", value, TOPIC, partition, offset, KAFKA_TIME, INGEST_TIME, INGEST_TIME.date())
        for offset, value in values.items()
    ]
    return spark.createDataFrame(rows, BRONZE_SCHEMA)


@pytest.fixture(scope="module")
def validated(spark: SparkSession) -> Iterator[DataFrame]:
    values: dict[int, bytes | None] = {**VALID, **{offset: case[0] for offset, case in CASES.items()}}
    dim = spark.createDataFrame(DIM_ROWS, DIM_SCHEMA)
    frame = validate(bronze_frame(spark, values), dim).cache()
    yield frame
    frame.unpersist()


@pytest.fixture(scope="module")
def verdicts(validated: DataFrame) -> dict[int, tuple[str | None, str | None]]:
    """offset -> (reason, detail), from one collect."""
    return {r.offset: (r.reason, r.detail) for r in validated.select("offset", "reason", "detail").collect()}


def test_every_record_gets_exactly_one_verdict(verdicts: dict[int, tuple[str | None, str | None]]) -> None:
    assert sorted(verdicts) == sorted([*VALID, *CASES])
    assert {offset for offset, (reason, _) in verdicts.items() if reason is None} == set(VALID)


@pytest.mark.parametrize("offset", sorted(CASES), ids=lambda o: f"offset{o}-{CASES[o][1].value}")
def test_invalid_record_gets_its_reason_and_detail(
    verdicts: dict[int, tuple[str | None, str | None]], offset: int
) -> None:
    _, reason, detail = CASES[offset]
    assert (offset, *verdicts[offset]) == (offset, reason.value, detail)


def test_every_reason_code_is_exercised() -> None:
    assert {case[1] for case in CASES.values()} == set(Reason)


def test_valid_record_has_no_reason_nor_detail(verdicts: dict[int, tuple[str | None, str | None]]) -> None:
    assert {offset: verdicts[offset] for offset in VALID} == {offset: (None, None) for offset in VALID}


def test_valid_records_are_typed_rows_with_the_exchange_trade_date(validated: DataFrame) -> None:
    valid = valid_records(validated)
    assert valid.dtypes == ddl_columns("silver.transactions")
    rows = [tuple(r) for r in valid.orderBy("offset").collect()]
    assert rows == EXPECTED_VALID


def test_timestamp_may_lie_up_to_a_day_ahead_of_the_clock(spark: SparkSession) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (now + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    bronze = bronze_frame(spark, {0: record(timestamp=soon), 1: record(timestamp=later)})
    dim = spark.createDataFrame(DIM_ROWS, DIM_SCHEMA)
    rows = validate(bronze, dim).orderBy("offset").select("offset", "reason").collect()
    assert [tuple(r) for r in rows] == [(0, None), (1, "timestamp_out_of_range")]


def test_trailing_content_after_the_object_is_unparseable(spark: SparkSession) -> None:
    bronze = bronze_frame(
        spark,
        {
            0: record(txn_id="first") + record(txn_id="second"),
            1: record(txn_id="garbage") + b" trailing garbage",
        },
    )
    dim = spark.createDataFrame(DIM_ROWS, DIM_SCHEMA)
    rows = validate(bronze, dim).orderBy("offset").select("offset", "reason").collect()
    assert [tuple(r) for r in rows] == [(0, "unparseable_json"), (1, "unparseable_json")]


def test_first_per_txn_keeps_the_lowest_partition_then_offset(spark: SparkSession) -> None:
    records = spark.createDataFrame(
        [
            ("a", 1, 0, 1.0),
            ("a", 0, 9, 2.0),
            ("a", 0, 7, 3.0),
            ("b", 2, 1, 4.0),
            # partition before offset: (0, 50) is received before (1, 2)
            ("d", 1, 2, 5.0),
            ("d", 0, 50, 6.0),
        ],
        "txn_id string, partition int, offset bigint, price double",
    )
    first = first_per_txn(records)
    assert first.columns == records.columns
    assert sorted(tuple(r) for r in first.collect()) == [
        ("a", 0, 7, 3.0),
        ("b", 2, 1, 4.0),
        ("d", 0, 50, 6.0),
    ]


def test_quarantine_rows_have_the_table_columns_and_the_raw_record(validated: DataFrame) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    quarantine = quarantine_records(validated)
    rows = quarantine.orderBy("offset").collect()
    after = datetime.now(UTC).replace(tzinfo=None)
    assert quarantine.dtypes == ddl_columns("silver.quarantine")
    assert [(r.offset, r.reason) for r in rows] == [(o, CASES[o][1].value) for o in sorted(CASES)]
    hold = next(r for r in rows if r.offset == 32)
    assert tuple(hold)[:8] == (
        bytearray(record(txn_id="t32", action="HOLD")),
        "AAPL",
        TOPIC,
        0,
        32,
        KAFKA_TIME,
        "unknown_action",
        "action must be one of BUY, SELL, got HOLD",
    )
    empty = next(r for r in rows if r.offset == 16)
    assert empty.value is None
    stamps = {(r.quarantined_at, r.quarantine_date) for r in rows}
    assert len(stamps) == 1, "one batch, one quarantine time"
    ((at, day),) = stamps
    assert before - timedelta(seconds=1) <= at <= after + timedelta(seconds=1)
    assert day == at.date()
