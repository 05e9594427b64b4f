from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stockstream.market.model import DailyBar, Session
from stockstream.market.simulator import simulate_day, trade_count
from stockstream.market.transactions import Transaction, txn_id

pytestmark = pytest.mark.unit

NEW_YORK = Session("America/New_York", time(9, 30), time(16, 0))
TOKYO = Session("Asia/Tokyo", time(9, 0), time(15, 30))
SYDNEY = Session("Australia/Sydney", time(10, 0), time(16, 0))
SESSIONS = (
    NEW_YORK,
    TOKYO,
    SYDNEY,
    Session("Europe/London", time(8, 0), time(16, 30)),
    Session("Europe/Berlin", time(9, 0), time(17, 30)),
    Session("Asia/Kolkata", time(9, 15), time(15, 30)),
    Session("America/Sao_Paulo", time(10, 0), time(17, 0)),
    Session("UTC", time(0, 0), time(23, 59, 59, 999999)),
)
# DST change days (New York 2026-03-08 and 2026-11-01, London/Berlin 2026-03-29 and 2026-10-25,
# Sydney 2026-04-05 and 2026-10-04), year ends and a leap day, plus any day in between.
DAYS = st.one_of(
    st.sampled_from(
        [
            date(2026, 3, 8),
            date(2026, 11, 1),
            date(2026, 3, 29),
            date(2026, 10, 25),
            date(2026, 4, 5),
            date(2026, 10, 4),
            date(2025, 12, 31),
            date(2028, 2, 29),
        ]
    ),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)),
)
TICKERS = st.sampled_from(["AAPL", "7203.T", "BHP.AX", "RELIANCE.NS", "SAP.DE", "X"])
PRICES = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False, allow_infinity=False)


@st.composite
def random_sessions(draw: st.DrawFn) -> Session:
    """Any daytime session: starting after 04:00 keeps clear of every DST jump of these zones."""
    tz = draw(st.sampled_from(["America/New_York", "Asia/Tokyo", "Australia/Sydney", "Europe/London"]))
    start = draw(st.integers(min_value=4 * 60, max_value=23 * 60))
    length = draw(st.integers(min_value=1, max_value=24 * 60 - 1 - start))
    return Session(tz, time(start // 60, start % 60), time((start + length) // 60, (start + length) % 60))


@st.composite
def bars(draw: st.DrawFn) -> DailyBar:
    """A valid daily bar; open/close often sit exactly on the high or the low."""
    low, high = sorted((draw(PRICES), draw(PRICES)))
    shape = draw(st.integers(min_value=0, max_value=7))
    if shape == 0:
        high = low  # a flat day
    elif shape == 1:
        high = low * (1 + draw(st.floats(min_value=1e-9, max_value=1e-5)))  # finer than a price tick
    between = st.floats(min_value=low, max_value=high)
    inside = st.one_of(st.just(low), st.just(high), between, between, between)
    return DailyBar(
        ticker=draw(TICKERS),
        trade_date=draw(DAYS),
        open=draw(inside),
        high=high,
        low=low,
        close=draw(inside),
        volume=draw(st.integers(min_value=1, max_value=10**9)),
        source="offline",
    )


def needed(bar: DailyBar) -> int:
    """Trades needed to show open, high, low and close (written independently of the module)."""
    levels = 2 + (bar.high > max(bar.open, bar.close)) + (bar.low < min(bar.open, bar.close))
    return 1 if bar.open == bar.close == bar.high == bar.low else levels


def check_day(bar: DailyBar, session: Session, trades: int, scale: float, day: list[Transaction]) -> None:
    """Every invariant of a simulated day, exactly."""
    total = max(1, round(bar.volume * scale))
    assert len(day) == min(total, max(trades, needed(bar))) == trade_count(bar, trades, scale)

    prices = [t.price for t in day]
    assert prices[0] == bar.open
    assert prices[-1] == bar.close
    assert min(prices) == bar.low
    assert max(prices) == bar.high
    assert all(bar.low <= p <= bar.high for p in prices)

    volumes = [t.volume for t in day]
    assert all(isinstance(v, int) and v > 0 for v in volumes)
    assert sum(volumes) == total

    zone = ZoneInfo(session.timezone)
    stamps = [t.timestamp for t in day]
    assert all(ts.tzinfo is UTC for ts in stamps)
    assert all(ts.microsecond % 1000 == 0 for ts in stamps)
    assert all(a < b for a, b in pairwise(stamps))
    session_open = datetime.combine(bar.trade_date, session.open, tzinfo=zone)
    first_ms = session_open + timedelta(microseconds=-session_open.microsecond % 1000)
    assert stamps[0] == first_ms
    for ts in stamps:
        local = ts.astimezone(zone)
        assert local.date() == bar.trade_date
        assert session.open <= local.time() <= session.close

    assert day[0].action == ("BUY" if bar.close >= bar.open else "SELL")
    assert {t.action for t in day} <= {"BUY", "SELL"}
    for seq, t in enumerate(day):
        assert t.txn_id == txn_id(bar.ticker, t.timestamp, seq)
        assert t.ticker == bar.ticker
        assert t.currency == "JPY"
        assert t.schema_version == 1
    assert len({t.txn_id for t in day}) == len(day)


@settings(max_examples=500, deadline=None)
@given(
    bar=bars(),
    session=st.one_of(st.sampled_from(SESSIONS), random_sessions()),
    trades=st.integers(min_value=1, max_value=2000),
    scale=st.floats(min_value=1e-9, max_value=10.0),
)
def test_a_simulated_day_honours_the_bar(bar: DailyBar, session: Session, trades: int, scale: float) -> None:
    total = max(1, round(bar.volume * scale))
    if total < needed(bar):
        with pytest.raises(ValueError, match="too small"):
            simulate_day(bar, session, "JPY", trades=trades, volume_scale=scale)
        return
    day = simulate_day(bar, session, "JPY", trades=trades, volume_scale=scale)
    check_day(bar, session, trades, scale, day)
    assert simulate_day(bar, session, "JPY", trades=trades, volume_scale=scale) == day


@settings(max_examples=60, deadline=None)
@given(bar=bars(), session=st.sampled_from(SESSIONS), gap=st.integers(min_value=1, max_value=400))
def test_another_day_or_ticker_gives_disjoint_ids(bar: DailyBar, session: Session, gap: int) -> None:
    bar = replace(bar, volume=max(bar.volume, 4))
    ids = {t.txn_id for t in simulate_day(bar, session, "JPY", trades=50)}
    later = replace(bar, trade_date=bar.trade_date + timedelta(days=gap))
    other = replace(bar, ticker=bar.ticker + "X")
    assert ids.isdisjoint(t.txn_id for t in simulate_day(later, session, "JPY", trades=50))
    assert ids.isdisjoint(t.txn_id for t in simulate_day(other, session, "JPY", trades=50))


def test_the_seed_is_the_ticker_and_day_only() -> None:
    bar = DailyBar("AAPL", date(2026, 3, 9), 228.13, 231.5, 226.2, 230.0, 51_234_567, "offline")
    day = simulate_day(bar, NEW_YORK, "USD")
    # Same (ticker, day) in a fresh call: identical, down to the ids; another day differs.
    assert simulate_day(bar, NEW_YORK, "USD") == day
    moved = simulate_day(replace(bar, trade_date=date(2026, 3, 10)), NEW_YORK, "USD")
    assert [t.price for t in moved] != [t.price for t in day]


def test_the_session_open_in_utc_follows_dst() -> None:
    bar = DailyBar("AAPL", date(2026, 3, 6), 10.0, 10.0, 10.0, 10.0, 1, "offline")
    (winter,) = simulate_day(bar, NEW_YORK, "USD", trades=1)
    (summer,) = simulate_day(replace(bar, trade_date=date(2026, 3, 9)), NEW_YORK, "USD", trades=1)
    (fall,) = simulate_day(replace(bar, trade_date=date(2026, 11, 2)), NEW_YORK, "USD", trades=1)
    assert winter.timestamp == datetime(2026, 3, 6, 14, 30, tzinfo=UTC)
    assert summer.timestamp == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert fall.timestamp == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    assert (winter.price, winter.volume, winter.action) == (10.0, 1, "BUY")
    assert winter.txn_id == txn_id("AAPL", datetime(2026, 3, 6, 14, 30, tzinfo=UTC), 0)


def test_sydney_and_tokyo_open_on_the_previous_utc_day() -> None:
    bar = DailyBar("BHP.AX", date(2026, 1, 15), 41.0, 41.0, 41.0, 41.0, 7, "offline")
    (sydney,) = simulate_day(bar, SYDNEY, "AUD", trades=1)
    (tokyo,) = simulate_day(replace(bar, ticker="7203.T"), TOKYO, "JPY", trades=1)
    assert sydney.timestamp == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # 10:00 AEDT
    assert tokyo.timestamp == datetime(2026, 1, 15, 0, 0, tzinfo=UTC)  # 09:00 JST
    assert sydney.volume == tokyo.volume == 7


def test_a_bar_with_four_levels_needs_four_trades() -> None:
    bar = DailyBar("SAP.DE", date(2026, 5, 4), 100.0, 105.0, 95.0, 102.0, 4, "offline")
    day = simulate_day(bar, SESSIONS[4], "EUR", trades=1)
    # trades=1 is raised to the 4 the bar needs; the volume 4 allows exactly one share each.
    assert len(day) == 4
    assert [t.volume for t in day] == [1, 1, 1, 1]
    assert day[0].price == 100.0
    assert day[-1].price == 102.0
    assert sorted(t.price for t in day[1:3]) == [95.0, 105.0]
    assert day[0].action == "BUY"


def test_a_two_level_bar_keeps_to_open_and_close() -> None:
    bar = DailyBar("X", date(2026, 5, 4), 20.0, 20.0, 18.0, 18.0, 1_000, "offline")
    day = simulate_day(bar, NEW_YORK, "USD", trades=2)
    assert [t.price for t in day] == [20.0, 18.0]
    assert day[0].action == "SELL"
    assert sum(t.volume for t in day) == 1_000


def test_a_range_finer_than_the_tick_stays_within_the_bar() -> None:
    # Rounding to 4 decimals would give 100.0 or 100.0001, both outside [low, high], or pin
    # every trade to the high or the low.
    bar = DailyBar("X", date(2026, 5, 4), 100.00005, 100.00008, 100.00004, 100.00007, 10**6, "offline")
    prices = [t.price for t in simulate_day(bar, NEW_YORK, "USD")]
    assert all(100.00004 <= p <= 100.00008 for p in prices)
    assert (min(prices), max(prices)) == (100.00004, 100.00008)
    assert sum(p in (100.00004, 100.00008) for p in prices) < 10


def test_prices_are_on_the_tick_when_the_range_allows() -> None:
    bar = DailyBar("AAPL", date(2026, 3, 9), 228.13, 231.5, 226.2, 230.0, 51_234_567, "offline")
    prices = [t.price for t in simulate_day(bar, NEW_YORK, "USD")]
    assert all(p == round(p, 4) for p in prices)
    assert len(set(prices)) > 300


@pytest.mark.parametrize(
    ("open_", "high", "low", "close"),
    [
        (105.0, 105.0, 95.0, 95.0),
        (95.0, 105.0, 95.0, 105.0),
        (105.0, 105.0, 90.0, 100.0),
        (100.0, 110.0, 95.0, 95.0),
    ],
)
def test_a_level_without_room_beyond_it_is_not_a_floor_the_path_sits_on(
    open_: float, high: float, low: float, close: float
) -> None:
    # Opening at the high (say) leaves the path no room above: it is reflected back down, not
    # clipped, so only a few trades print exactly at the day's high or low.
    bar = DailyBar("X", date(2026, 5, 4), open_, high, low, close, 10**6, "offline")
    prices = [t.price for t in simulate_day(bar, NEW_YORK, "USD")]
    assert sum(p in (high, low) for p in prices) <= 4


def test_volume_scale_sets_the_shares() -> None:
    bar = DailyBar("X", date(2026, 5, 4), 20.0, 21.0, 19.0, 20.5, 1_000_001, "offline")
    assert sum(t.volume for t in simulate_day(bar, NEW_YORK, "USD", volume_scale=0.001)) == 1_000
    assert len(simulate_day(bar, NEW_YORK, "USD", trades=400, volume_scale=1e-4)) == 100


def test_trades_cluster_at_the_open_and_the_close() -> None:
    bar = DailyBar("AAPL", date(2026, 6, 10), 200.0, 204.0, 197.0, 202.0, 10**8, "offline")
    day = simulate_day(bar, NEW_YORK, "USD", trades=2000)
    open_utc = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
    hours = [int((t.timestamp - open_utc) / timedelta(hours=1)) for t in day]
    first, middle, last = hours.count(0), hours.count(3), hours.count(6)  # 6 = the last half hour
    assert first > 2 * middle
    assert last > middle


def test_buys_lean_on_up_ticks_and_sells_on_down_ticks() -> None:
    bar = DailyBar("AAPL", date(2026, 6, 10), 200.0, 204.0, 197.0, 202.0, 10**8, "offline")
    day = simulate_day(bar, NEW_YORK, "USD", trades=2000)
    up = [b.action for a, b in pairwise(day) if b.price > a.price]
    down = [b.action for a, b in pairwise(day) if b.price < a.price]
    assert up.count("BUY") / len(up) > 0.6
    assert down.count("SELL") / len(down) > 0.6


VALID = DailyBar("AAPL", date(2026, 6, 10), 200.0, 204.0, 197.0, 202.0, 1_000, "offline")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"low": 201.0}, "low 201.0 is above min"),
        ({"high": 201.0}, "high 201.0 is below max"),
        ({"open": 205.0}, "high 204.0 is below max"),
        ({"close": 196.0}, "low 197.0 is above min"),
        ({"low": 0.0}, "low must be a finite price > 0"),
        ({"low": -1.0}, "low must be a finite price > 0"),
        ({"open": float("nan")}, "open must be a finite price"),
        ({"high": float("inf")}, "high must be a finite price"),
        ({"volume": 0}, "volume must be > 0"),
        ({"volume": -5}, "volume must be > 0"),
    ],
)
def test_an_invalid_bar_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate_day(replace(VALID, **change), NEW_YORK, "USD")  # type: ignore[arg-type]


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="trades must be >= 1"):
        simulate_day(VALID, NEW_YORK, "USD", trades=0)
    with pytest.raises(ValueError, match="volume_scale must be"):
        simulate_day(VALID, NEW_YORK, "USD", volume_scale=0.0)
    with pytest.raises(ValueError, match=r"session .* is empty"):
        simulate_day(VALID, Session("Asia/Tokyo", time(15, 0), time(9, 0)), "JPY")
    with pytest.raises(ValueError, match="400 trades do not fit in the session"):
        simulate_day(VALID, Session("Asia/Tokyo", time(9, 0), time(9, 0, 0, 1000)), "JPY")
    # A volume too small for the levels the bar shows: 3 shares cannot carry 4 distinct prices.
    with pytest.raises(ValueError, match=r"scaled volume 3 .* too small for the 4 trades"):
        simulate_day(replace(VALID, volume=3), NEW_YORK, "USD")
