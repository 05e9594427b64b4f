"""The pure parts of the stream-fault scenarios: the late-event rounds' timing, the stress steps'
rules, and the expected gold computed in Python."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from stockstream.chaos import expect, late, stress
from stockstream.market.transactions import Transaction

pytestmark = pytest.mark.unit

DAY = date(2026, 10, 6)
T0 = datetime(2026, 10, 6, 14, 0)


def trade(txn_id: str, second: float, price: float, volume: int = 10, action: str = "BUY") -> Transaction:
    moment = (T0 + timedelta(seconds=second)).replace(tzinfo=UTC)
    return Transaction(txn_id, "AAA", moment, price, volume, action, "USD")


def day_of(_: Transaction) -> date:
    return DAY


def test_watermark_seconds_reads_the_setting() -> None:
    assert late.watermark_seconds("2 minutes") == 120
    assert late.watermark_seconds("90 seconds") == 90
    assert late.watermark_seconds("1 hour") == 3600
    with pytest.raises(Exception, match="cannot read the watermark"):
        late.watermark_seconds("soon")


@pytest.mark.parametrize("watermark", [30, 120, 150])
def test_each_round_puts_its_late_trades_on_the_right_side_of_the_watermark(watermark: int) -> None:
    events = late.Events(random.Random(3), {"AAA": (10.0, "USD"), "BBB": (20.0, "USD")})
    rounds, closing = late.plan_rounds(events, T0, 3, watermark, (1, 3))
    wm = timedelta(seconds=watermark)
    seen_max = T0 - timedelta(days=1)
    for r in rounds:
        stamps = {
            kind: [t.timestamp.replace(tzinfo=None) for t in getattr(r, kind)]
            for kind in ("on_time", "within", "advance", "beyond")
        }
        # On time: nothing the stream saw before makes them late, and their spread is under W.
        assert min(stamps["on_time"]) >= seen_max - wm
        assert max(stamps["on_time"]) - min(stamps["on_time"]) < wm
        mark = max(stamps["on_time"]) - wm
        # Within: older than the newest trade, newer than the watermark, in windows still open.
        assert all(mark < s < max(stamps["on_time"]) for s in stamps["within"])
        # Advance: the watermark then closes every window holding on-time or within trades...
        closed = stamps["advance"][0] - wm
        ends = [expect.window_of(s) + timedelta(minutes=1) for s in stamps["on_time"] + stamps["within"]]
        assert max(ends) <= closed
        # ...and every beyond trade is older than it, in one of those closed windows' span.
        assert all(
            s < closed and expect.window_of(s) + timedelta(minutes=1) <= closed for s in stamps["beyond"]
        )
        assert all(s >= r.start for s in stamps["beyond"])
        seen_max = stamps["advance"][0]
        assert len({t.txn_id for t in r.on_time + r.within + r.beyond + r.advance}) == sum(
            map(len, stamps.values())
        )
    # The closing trade closes the last advance trade's window.
    last_advance = rounds[-1].advance[0].timestamp
    assert closing.timestamp - wm >= expect.window_of(last_advance).replace(tzinfo=UTC) + timedelta(minutes=1)
    assert rounds[1].start - rounds[0].start >= timedelta(seconds=watermark)


def test_stress_steps_follow_the_rules_and_cover_every_kind() -> None:
    for seed in range(20):
        plan = stress.plan_steps(random.Random(seed), 7)
        assert len(plan) == 7
        assert set(plan) == stress.EVERY_KIND
        running, published = True, False
        for kind in plan:
            assert kind in (stress.WHILE_RUNNING if running else stress.WHILE_STOPPED)
            assert kind != "again" or published
            running = {"stop": False, "start": True}.get(kind, running)
            published = published or kind == "publish"
    assert len(stress.plan_steps(random.Random(1), 3)) == 3  # too short to cover: drawn once


def test_expected_stock_daily_takes_first_and_last_by_event_time_then_txn_id() -> None:
    txns = [
        trade("b", 0, 10.0, 100, "BUY"),
        trade("a", 0, 11.0, 50, "SELL"),  # same instant: txn_id "a" comes first
        trade("c", 30, 9.5, 25, "BUY"),
        trade("d", 60, 10.25, 25, "SELL"),
        trade("e", 60, 10.75, 10, "BUY"),  # same instant as "d": "e" is the last
        trade("a", 90, 99.0, 1, "BUY"),  # a replayed txn_id: counted once (the first record)
    ]
    got = expect.expected_stock_daily(txns, day_of)
    assert got == {
        (DAY, "AAA"): {
            "open": 11.0,
            "high": 11.0,
            "low": 9.5,
            "close": 10.75,
            "volume": 210,
            "trades": 5,
            "vwap": 2151.25 / 210,
            "buy_volume": 135,
            "sell_volume": 75,
            "growth_pct": (10.75 - 11.0) / 11.0 * 100.0,
        }
    }


def test_expected_minute_bars_group_by_one_minute_windows() -> None:
    txns = [trade("a", 5, 10.0), trade("b", 59.999, 12.0, 5), trade("c", 60, 11.0, 7), trade("d", 61, 9.0)]
    bars = expect.expected_minute_bars(txns, day_of)
    assert bars == {
        ("AAA", T0): {
            "window_end": T0 + timedelta(minutes=1),
            "trade_date": DAY,
            "open": 10.0,
            "high": 12.0,
            "low": 10.0,
            "close": 12.0,
            "volume": 15,
            "trades": 2,
        },
        ("AAA", T0 + timedelta(minutes=1)): {
            "window_end": T0 + timedelta(minutes=2),
            "trade_date": DAY,
            "open": 11.0,
            "high": 11.0,
            "low": 9.0,
            "close": 9.0,
            "volume": 17,
            "trades": 2,
        },
    }


def test_differences_name_missing_unexpected_and_wrong_values() -> None:
    expected = {1: {"x": 1.0}, 2: {"x": 2.0}, 3: {"x": 3.0}}
    got = {1: {"x": 1.0}, 2: {"x": 2.5}, 4: {"x": 4.0}}
    assert expect.differences(got, expected) == [
        "1 missing: 3",
        "1 unexpected: 4",
        "1 wrong: 2 x: 2.5 != expected 2.0",
    ]
    assert expect.differences(expected, expected) == []
