from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest

from stockstream.market.sample import SAMPLE_TICKERS, sample_transactions
from stockstream.market.transactions import Transaction, iso_utc, txn_id

pytestmark = pytest.mark.unit


def test_txn_id_is_a_digest_of_ticker_instant_and_sequence() -> None:
    instant = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    expected = hashlib.sha256(b"AAPL|2026-11-20T14:30:00+00:00|3").hexdigest()[:32]
    assert txn_id("AAPL", instant, 3) == expected
    assert txn_id("AAPL", instant, 4) != expected


def test_record_carries_the_contract_fields() -> None:
    txn = Transaction(
        txn_id="abc",
        ticker="SAP",
        timestamp=datetime(2026, 11, 20, 14, 30, 1, 250000, tzinfo=UTC),
        price=235.5,
        volume=120,
        action="BUY",
        currency="USD",
    )
    assert json.loads(txn.to_json()) == {
        "txn_id": "abc",
        "ticker": "SAP",
        "timestamp": "2026-11-20T14:30:01.250Z",
        "price": 235.5,
        "volume": 120,
        "action": "BUY",
        "currency": "USD",
        "schema_version": 1,
    }
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


def test_sample_is_deterministic_ordered_and_valid() -> None:
    first = list(sample_transactions(500, date(2026, 11, 20)))
    again = list(sample_transactions(500, date(2026, 11, 20)))
    other_day = list(sample_transactions(500, date(2026, 11, 19)))
    assert first == again
    assert {t.txn_id for t in first}.isdisjoint({t.txn_id for t in other_day})
    assert len({t.txn_id for t in first}) == 500
    assert [t.timestamp for t in first] == sorted(t.timestamp for t in first)
    assert all(t.timestamp.date() == date(2026, 11, 20) for t in first)
    known = {ticker: currency for ticker, currency, _ in SAMPLE_TICKERS}
    for t in first:
        assert known[t.ticker] == t.currency
        assert t.price > 0 and t.volume > 0 and t.action in {"BUY", "SELL"}


def test_sample_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError):
        list(sample_transactions(-1, date(2026, 11, 20)))
