"""The malformed-input generator and its oracle, without a broker: deterministic for a seed, every
category and reason covered, each family breaking what it says, and silver.validate giving every
generated record exactly the reason the oracle names (RULE_ORDER mirroring silver.rules())."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from pyspark.sql import SparkSession

from stockstream.chaos.malformed import (
    BROKEN_JSON,
    CATEGORIES,
    FAULTS,
    RULE_ORDER,
    VALID_FORMS,
    Context,
    Record,
    bad_records,
    generate,
    judge,
    valid_variants,
)
from stockstream.market.transactions import Transaction, txn_id
from stockstream.pipeline.silver import MAX_PAYLOAD_BYTES, Reason, rules, validate

pytestmark = pytest.mark.unit

ZONES = {
    "AAPL": "America/New_York",
    "7203.T": "Asia/Tokyo",
    "BRK-B": "America/New_York",
    "0700.HK": "Asia/Hong_Kong",
}
CTX = Context(frozenset(ZONES), datetime(2026, 10, 8, 12, tzinfo=UTC))
OPEN = datetime(2026, 10, 6, 13, 30, tzinfo=UTC)


def transactions(n: int = 80) -> list[Transaction]:
    tickers = sorted(ZONES)
    out = []
    for i in range(n):
        ticker, moment = tickers[i % len(tickers)], OPEN + timedelta(seconds=37 * i)
        out.append(
            Transaction(
                txn_id(ticker, moment, i),
                ticker,
                moment,
                round(50 + 1.37 * i, 2),
                1 + 17 * i,
                ("BUY", "SELL")[i % 2],
                "USD",
            )
        )
    return out


TXNS = transactions()


def sample(seed: str, bad: int = 900, variants: int = 50) -> list[Record]:
    return generate(random.Random(seed), TXNS, bad=bad, valid=20, variants=variants, ctx=CTX)


def test_the_same_seed_gives_the_same_records_and_another_seed_others() -> None:
    first, again, other = sample("s-1"), sample("s-1"), sample("s-2")
    assert first == again
    assert len(first) == 900 + 20 + 50
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 800


def test_every_category_reason_and_valid_form_is_generated_evenly() -> None:
    records = sample("coverage", bad=1800, variants=100)
    bad = [r for r in records if r.reason is not None]
    assert Counter(r.category for r in bad) == {category: 100 for category in CATEGORIES}
    assert {r.reason for r in bad} == set(Reason)
    forms = Counter(r.family for r in records if r.family.startswith("valid_form/"))
    assert forms == {f"valid_form/{form}": 10 for form in VALID_FORMS}
    assert Counter(r.family for r in records if r.family == "valid/replay") == {"valid/replay": 20}
    assert {r.family.split("/", 1)[1].split(":")[0] for r in bad if r.category == "broken_json"} == set(
        BROKEN_JSON
    )
    fault_families = {f"{f.category}/{f.rule}:{f.variant}" for f in FAULTS}
    assert fault_families <= {r.family for r in bad}


def test_valid_records_keep_distinct_txn_ids_and_bad_ones_a_marker_instead_of_the_real_id() -> None:
    records = sample("ids")
    valid_ids = [r.txn_id for r in records if r.reason is None]
    assert None not in valid_ids
    assert len(set(valid_ids)) == len(valid_ids)
    real_ids = {t.txn_id for t in TXNS}
    for record in records:
        if record.reason is not None and record.value:
            assert not any(real.encode() in record.value for real in real_ids), record.family


def test_each_family_breaks_what_it_says() -> None:
    records = sample("families", bad=3600, variants=100)
    for record in records:
        value = record.value
        if record.reason is Reason.OVERSIZED_PAYLOAD:
            assert value is not None
            assert len(value) > MAX_PAYLOAD_BYTES, record.family
            continue
        assert value is None or len(value) <= MAX_PAYLOAD_BYTES, record.family
        if record.category == "non_utf8":
            with pytest.raises(UnicodeDecodeError):
                value.decode("utf-8")  # type: ignore[union-attr]
        elif record.category == "content_after_object":
            text = value.decode()  # type: ignore[union-attr]
            first, end = json.JSONDecoder().raw_decode(text)
            assert isinstance(first, dict)
            assert text[end:].strip(), record.family
        elif record.category == "broken_json":
            try:
                parsed = json.loads(value.decode("utf-8"))  # type: ignore[union-attr]
            except ValueError:
                continue
            assert not isinstance(parsed, dict), record.family
        elif record.family == "valid_form/nested_deep_but_allowed":
            assert 899 <= value.count(b"[") <= 999  # type: ignore[union-attr]
        elif record.reason is None:
            parsed = json.loads(value.decode("utf-8"))  # type: ignore[union-attr]
            assert isinstance(parsed, dict)
            assert parsed["txn_id"] == record.txn_id


def test_judge_counts_lost_duplicated_wrong_and_unexpected_rows() -> None:
    records = [
        Record(b"A", b"{}", None, "valid/replay", "t1"),
        Record(b"A", b"{}", None, "valid/replay", "t2"),
        Record(b"A", b"x", Reason.UNPARSEABLE_JSON, "broken_json/x"),
        Record(b"A", b"y", Reason.UNKNOWN_TICKER, "unknown_ticker/y"),
        Record(b"A", b"z", Reason.WRONG_TYPE, "wrong_type/z"),
    ]
    where = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0)]
    verdict = judge(
        records,
        where,
        # t1 twice, t2 missing, a txn_id never published
        [("t1", 0, 0), ("t1", 0, 0), ("ghost", 2, 9)],
        # (1, 0) right, (1, 1) wrong reason, (2, 0) twice, (2, 7) never published
        [
            (1, 0, "unparseable_json"),
            (1, 1, "unknown_action"),
            (2, 0, "wrong_type"),
            (2, 0, "wrong_type"),
            (2, 7, "x"),
        ],
    )
    assert (verdict.lost, verdict.duplicated) == (1, 2)
    assert verdict.wrong_reasons == [
        "unknown_ticker/y at (1, 1): unknown_action instead of unknown_ticker (b'y')"
    ]
    assert verdict.unexpected == [
        "silver txn_id 'ghost' was never published valid",
        "quarantine row at (2, 7) was never published",
    ]
    assert verdict.reasons == {"unparseable_json": 1, "unknown_action": 1, "wrong_type": 2, "x": 1}
    assert not verdict.exact


# --- against silver.validate ---------------------------------------------------------------------------

BRONZE_SCHEMA = (
    "key string, value binary, topic string, partition int, offset bigint, "
    "kafka_timestamp timestamp, ingest_time timestamp, ingest_date date"
)
DIM_SCHEMA = (
    "ticker string, name string, sector string, industry string, country string, currency string, "
    "exchange string, exchange_timezone string"
)


def test_rule_order_mirrors_silver_rules(spark: SparkSession) -> None:
    assert [rule.reason for rule in rules()] == [reason for _, reason in RULE_ORDER]


def test_silver_gives_every_generated_record_the_reason_the_oracle_names(spark: SparkSession) -> None:
    rng = random.Random("oracle")
    ctx = Context(CTX.known_tickers, datetime.now(UTC))
    records = [
        *bad_records(rng, TXNS, 100 * len(CATEGORIES), ctx),
        *valid_variants(rng, TXNS, 10 * len(VALID_FORMS)),
    ]
    every_family = {f"{f.category}/{f.rule}:{f.variant}" for f in FAULTS} | {
        f"broken_json/{k}" for k in BROKEN_JSON
    }
    assert every_family <= {r.family.split("+")[0] for r in records}
    moment = datetime(2026, 10, 6, 20)
    rows = [
        (
            None if r.key is None else r.key.decode(),
            r.value,
            "t",
            0,
            offset,
            moment,
            moment,
            date(2026, 10, 6),
        )
        for offset, r in enumerate(records)
    ]
    dim = spark.createDataFrame(
        [(t, t, "Technology", "Software", "US", "USD", "X", zone) for t, zone in ZONES.items()], DIM_SCHEMA
    )
    got = {
        row.offset: (row.reason, row.txn_id)
        for row in validate(spark.createDataFrame(rows, BRONZE_SCHEMA), dim)
        .select("offset", "reason", "txn_id")
        .collect()
    }
    wrong = [
        f"{r.family}: {got[offset][0]} instead of {r.reason} ({(r.value or b'')[:70]!r})"
        for offset, r in enumerate(records)
        if got[offset][0] != (r.reason.value if r.reason else None)
    ]
    assert wrong == []
    assert [got[o][1] for o, r in enumerate(records) if r.reason is None] == [
        r.txn_id for r in records if r.reason is None
    ]
