"""The replay's record values are the contract's bytes: Transaction.to_json() (written without
json.dumps, for speed) equals json.dumps of to_record() byte for byte, floats, timestamps and
escaped strings included."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockstream.config import Settings
from stockstream.market.intraday import DayPlan, transactions
from stockstream.market.reference import load_universe, reference_profile
from stockstream.market.sources import OfflineSource
from stockstream.market.transactions import Transaction

pytestmark = pytest.mark.unit

MOMENT = datetime(2026, 11, 20, 14, 30, 1, 250999, tzinfo=UTC)


def reference(trade: Transaction) -> bytes:
    """The contract's bytes as json.dumps writes them."""
    return json.dumps(trade.to_record(), separators=(",", ":")).encode()


def txn(**changes: object) -> Transaction:
    values: dict[str, object] = {
        "txn_id": "0f3a9c",
        "ticker": "AAPL",
        "timestamp": MOMENT,
        "price": 229.1,
        "volume": 300,
        "action": "SELL",
        "currency": "USD",
    }
    return Transaction(**{**values, **changes})  # type: ignore[arg-type]


def test_a_trade_is_written_exactly_as_the_contract_says() -> None:
    value = txn().to_json()
    assert value == (
        b'{"txn_id":"0f3a9c","ticker":"AAPL","timestamp":"2026-11-20T14:30:01.250Z","price":229.1,'
        b'"volume":300,"action":"SELL","currency":"USD","schema_version":1}'
    )
    assert value == reference(txn())


@pytest.mark.parametrize(
    "price",
    [0.1, 1e-05, 0.0001, 1e16, 1.7976931348623157e308, 5e-324, 123456789.123, 2.0, -0.0, 1 / 3],
)
def test_floats_are_written_as_json_dumps_writes_them(price: float) -> None:
    assert txn(price=price).to_json() == reference(txn(price=price))


@pytest.mark.parametrize(
    "changes",
    [
        {"price": float("nan")},
        {"price": float("inf")},
        {"price": np.float64(229.1)},  # a float subclass: json.dumps writes float.__repr__
        {"price": 229},  # an int price (a hand-made record), written as an int
        {"volume": True},
        {"timestamp": MOMENT.astimezone(ZoneInfo("America/New_York"))},
        {"timestamp": MOMENT.astimezone(timezone(timedelta(hours=5, minutes=30)))},
        {"timestamp": datetime(999, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)},
        {"ticker": 'A"B\\C\u00e9\n', "currency": "\u20ac", "action": "b\u00fcy"},
        {"txn_id": "id with spaces and \u00fc"},
        {"schema_version": 2},
    ],
)
def test_what_the_fast_path_does_not_cover_is_still_the_contract(changes: dict[str, object]) -> None:
    assert txn(**changes).to_json() == reference(txn(**changes))


@settings(max_examples=500, deadline=None)
@given(
    price=st.floats(allow_nan=False, allow_infinity=False, min_value=1e-9, max_value=1e12),
    volume=st.integers(min_value=1, max_value=10**12),
    moment=st.datetimes(
        min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
    ),
    ticker=st.text(min_size=1, max_size=8),
    txn_id=st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
)
def test_any_trade_is_the_contracts_bytes(
    price: float, volume: int, moment: datetime, ticker: str, txn_id: str
) -> None:
    trade = txn(price=price, volume=volume, timestamp=moment, ticker=ticker, txn_id=txn_id)
    assert trade.to_json() == reference(trade)


def test_every_simulated_trade_of_a_day_is_the_contracts_bytes(tmp_path: Path) -> None:
    universe = load_universe()
    source = OfflineSource(universe, {s.ticker: reference_profile(s.ticker) for s in universe})
    day = date(2026, 11, 20)
    plan = DayPlan(
        bars=source.daily_bars([s.ticker for s in universe], day, day),
        stocks={s.ticker: s for s in universe},
        skipped=[],
    )
    settings = Settings(_env_file=None, data_root=tmp_path, sim_trades_per_day=100)  # type: ignore[call-arg]
    trades = [trade for _, trade in transactions(plan, settings)]
    assert len(trades) == len(universe) * 100
    assert [t.to_json() for t in trades] == [reference(t) for t in trades]
