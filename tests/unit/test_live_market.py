"""The live market on a fake clock: which tickers trade when, start prices, the walk, ids, pacing,
and records silver accepts."""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from deltalake import write_deltalake

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.live import (
    LiveMarket,
    Pacer,
    live_txn_id,
    open_market,
    require_open,
    select_stocks,
    start_bars,
)
from stockstream.market.model import DailyBar, Stock
from stockstream.market.reference import SESSIONS, load_universe, reference_profile
from stockstream.market.simulator import price_decimals
from stockstream.market.sources import OfflineSource
from stockstream.market.transactions import Transaction, txn_id
from stockstream.pipeline.silver import CONTRACT_FIELDS, Reason
from stockstream.tables import DAILY_BARS, table
from tests.unit.transaction_contract import silver_reason

pytestmark = pytest.mark.unit

UNIVERSE = load_universe()
TICKERS = [stock.ticker for stock in UNIVERSE]
# Wednesday 2026-11-18 00:30 UTC = 09:30 in Tokyo and Seoul, 11:30 in Sydney (AEDT), 06:00 in
# Kolkata, and the evening before everywhere in Europe and the Americas.
ASIA_MORNING = datetime(2026, 11, 18, 0, 30, tzinfo=UTC)
ASIA_OPEN = {
    "005930.KS",
    "000660.KS",
    "035420.KS",
    "7974.T",
    "6758.T",
    "7203.T",
    "9984.T",
    "9433.T",
    "ASX.AX",
    "BHP.AX",
    "NAB.AX",
}
SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def bars_of(stocks: list[Stock], volume: int = 4_000_000) -> dict[str, DailyBar]:
    """A distinct last close per stock (100.5, 101.5, ...) on 2026-11-17."""
    return {
        stock.ticker: DailyBar(
            ticker=stock.ticker,
            trade_date=date(2026, 11, 17),
            open=100.0 + i,
            high=101.0 + i,
            low=99.0 + i,
            close=100.5 + i,
            volume=volume,
            source="offline",
        )
        for i, stock in enumerate(stocks)
    }


def market_of(
    tickers: list[str] | None = None, *, start: datetime = ASIA_MORNING, **kwargs: object
) -> tuple[LiveMarket, FakeClock]:
    stocks = select_stocks(UNIVERSE, tickers, "universe.csv")
    clock = FakeClock(start)
    market = LiveMarket(stocks, bars_of(stocks), clock=clock, **kwargs)  # type: ignore[arg-type]
    return market, clock


def run_ticks(
    market: LiveMarket, clock: FakeClock, ticks: int, per_tick: int, seconds: float = 0.5
) -> list[Transaction]:
    trades: list[Transaction] = []
    for _ in range(ticks):
        trades += market.trade(per_tick)
        clock.advance(seconds)
    return trades


# ---------------------------------------------------------------------------------------------
# Sessions


def test_a_session_is_open_between_open_and_close_on_weekdays_on_the_exchange_clock() -> None:
    new_york = SESSIONS["NMS"]
    wednesday_open = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)  # 09:30 EST
    assert new_york.is_open(wednesday_open)
    assert not new_york.is_open(wednesday_open - timedelta(milliseconds=1))
    assert new_york.is_open(datetime(2026, 11, 18, 21, 0, tzinfo=UTC))  # 16:00 EST, the close
    assert not new_york.is_open(datetime(2026, 11, 18, 21, 0, 0, 1000, tzinfo=UTC))
    assert not new_york.is_open(datetime(2026, 11, 21, 15, 0, tzinfo=UTC))  # a Saturday
    # Friday after the close -> Monday's open; during a session -> the next day's.
    assert new_york.next_open(datetime(2026, 11, 20, 22, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 14, 30, tzinfo=UTC
    )
    assert new_york.next_open(wednesday_open) == datetime(2026, 11, 19, 14, 30, tzinfo=UTC)
    # Summer time moves the open in UTC.
    assert new_york.next_open(datetime(2026, 6, 1, 0, 0, tzinfo=UTC)) == datetime(
        2026, 6, 1, 13, 30, tzinfo=UTC
    )


# ---------------------------------------------------------------------------------------------
# Who trades


def test_only_tickers_of_open_exchanges_trade() -> None:
    market, clock = market_of(seed=1)
    assert set(market.open_tickers(ASIA_MORNING)) == ASIA_OPEN
    trades = run_ticks(market, clock, ticks=10, per_tick=100)
    assert len(trades) == 1000
    assert {t.ticker for t in trades} == ASIA_OPEN


def test_of_chosen_tickers_only_those_whose_exchange_is_open_trade() -> None:
    market, clock = market_of(["AAPL", "7203.T", "SAP"], seed=2)
    trades = run_ticks(market, clock, ticks=4, per_tick=25)
    assert len(trades) == 100
    assert {t.ticker for t in trades} == {"7203.T"}
    assert {t.currency for t in trades} == {"JPY"}


def test_always_open_trades_every_ticker_even_on_a_saturday() -> None:
    market, clock = market_of(seed=3, start=SATURDAY_NOON, always_open=True)
    trades = run_ticks(market, clock, ticks=10, per_tick=300)
    assert {t.ticker for t in trades} == set(TICKERS)
    closed, _ = market_of(seed=3, start=SATURDAY_NOON)
    assert closed.trade(300) == []


def test_with_no_exchange_open_the_error_names_the_next_opens() -> None:
    with pytest.raises(StockstreamError) as caught:
        require_open(UNIVERSE, SATURDAY_NOON)
    assert caught.value.message == (
        "no exchange of the chosen tickers is open now (Sat 2026-11-21 12:00 UTC); next to open: "
        "ASX (Australia/Sydney) at Sun 2026-11-22 23:00 UTC, in 1d 11h 0m; "
        "KSC (Asia/Seoul) at Mon 2026-11-23 00:00 UTC, in 1d 12h 0m; "
        "JPX (Asia/Tokyo) at Mon 2026-11-23 00:00 UTC, in 1d 12h 0m"
    )
    assert caught.value.hint is not None and "--always-open" in caught.value.hint
    require_open(UNIVERSE, ASIA_MORNING)  # Tokyo is open: no error


def test_tickers_are_checked_against_the_universe() -> None:
    assert [s.ticker for s in select_stocks(UNIVERSE, ["sap", " 7203.T", "AAPL"], "u.csv")] == [
        "AAPL",
        "SAP",
        "7203.T",
    ]  # universe order, case-insensitive
    with pytest.raises(StockstreamError) as unknown:
        select_stocks(UNIVERSE, ["AAPL", "NOPE", "XYZ"], "u.csv")
    assert unknown.value.message == "not in the ticker universe (u.csv): NOPE, XYZ"
    assert unknown.value.hint is not None and "AAPL, MSFT, GOOGL" in unknown.value.hint
    with pytest.raises(StockstreamError, match="names no ticker"):
        select_stocks(UNIVERSE, ["", " "], "u.csv")


# ---------------------------------------------------------------------------------------------
# The walk


def test_the_first_tick_trades_at_the_last_close_then_prices_move() -> None:
    market, clock = market_of(seed=4, always_open=True)
    first = market.trade(200)
    closes = {t: bar.close for t, bar in market.start.items()}
    assert market.prices() == closes
    assert all(t.price == closes[t.ticker] for t in first)
    clock.advance(1.0)
    second = market.trade(200)
    assert sum(t.price != closes[t.ticker] for t in second) >= 190


def test_a_seed_makes_a_run_reproducible() -> None:
    runs = []
    for seed in (5, 5, 6):
        market, clock = market_of(seed=seed)
        runs.append(run_ticks(market, clock, ticks=5, per_tick=40))
    assert runs[0] == runs[1]
    assert [t.price for t in runs[0]] != [t.price for t in runs[2]]
    assert {t.txn_id for t in runs[0]}.isdisjoint({t.txn_id for t in runs[2]})


def test_prices_stay_positive_and_on_the_replay_tick() -> None:
    # A violent walk: 1% per sqrt(second), an hour between ticks.
    market, clock = market_of(["NIO"], seed=7, start=SATURDAY_NOON, always_open=True, volatility=0.01)
    trades = run_ticks(market, clock, ticks=200, per_tick=5, seconds=3600)
    prices = [t.price for t in trades]
    assert min(prices) > 0
    assert max(prices) / min(prices) > 100  # it did wander far
    assert all(round(p, price_decimals(p)) == p for p in prices)


@pytest.mark.parametrize("per_tick", [1, 4])
def test_the_walk_moves_with_time_not_with_the_number_of_trades(per_tick: int) -> None:
    """Per trade, the log move has standard deviation volatility * sqrt(dt / trades in the tick)."""
    market, clock = market_of(["AAPL"], seed=8, start=SATURDAY_NOON, always_open=True, volatility=0.001)
    trades = run_ticks(market, clock, ticks=4000 // per_tick, per_tick=per_tick, seconds=1.0)
    moves = np.diff(np.log([t.price for t in trades]))[per_tick:]  # the first tick does not move
    expected = 0.001 / math.sqrt(per_tick)
    assert abs(float(np.std(moves)) / expected - 1) < 0.05
    assert abs(float(np.mean(moves))) < 3 * expected / math.sqrt(len(moves))


def test_a_ticker_that_trades_rarely_moves_by_the_time_since_its_last_trade() -> None:
    """Ten tickers sharing one trade a second: each move spans the ticker's own gap since its last
    trade, so the walk is as fast as when a ticker trades every tick."""
    tickers = TICKERS[:10]
    market, clock = market_of(tickers, seed=14, start=SATURDAY_NOON, always_open=True, volatility=0.001)
    trades = run_ticks(market, clock, ticks=6000, per_tick=1, seconds=1.0)
    normalised = []
    for ticker in tickers:
        mine = [t for t in trades if t.ticker == ticker]
        gaps = np.diff([t.timestamp.timestamp() for t in mine])
        moves = np.diff(np.log([t.price for t in mine]))
        normalised += (moves / np.sqrt(gaps)).tolist()
    assert len(normalised) == 6000 - 10
    assert abs(float(np.std(normalised)) / 0.001 - 1) < 0.05


def test_a_ticker_resumes_at_its_last_price_when_its_session_reopens() -> None:
    # 15:29 in Tokyo: a minute before the close.
    market, clock = market_of(["7203.T"], seed=15, start=datetime(2026, 11, 18, 6, 29, tzinfo=UTC))
    before_close = run_ticks(market, clock, ticks=60, per_tick=2, seconds=1.0)
    assert len(before_close) == 120 and before_close[-1].price != before_close[0].price
    at_close = market.trade(5)  # 15:30:00.000, the close itself, still trades
    assert [t.timestamp for t in at_close] == [datetime(2026, 11, 18, 6, 30, tzinfo=UTC)] * 5
    clock.advance(0.001)
    assert market.trade(5) == []
    clock.current = datetime(2026, 11, 19, 0, 0, 30, tzinfo=UTC)  # 09:00:30 the next morning
    reopened = market.trade(3)
    assert [t.price for t in reopened] == [at_close[-1].price] * 3
    clock.advance(1.0)
    assert market.trade(1)[0].price != at_close[-1].price


def test_buy_and_sell_lean_with_the_move_and_sizes_follow_the_bar_volume() -> None:
    market, clock = market_of(["AAPL"], seed=9, start=SATURDAY_NOON, always_open=True)
    trades = run_ticks(market, clock, ticks=5000, per_tick=1, seconds=1.0)[1:]
    previous = [market.start["AAPL"].close] + [t.price for t in trades[:-1]]
    up = [t.action for t, before in zip(trades, previous, strict=True) if t.price > before]
    down = [t.action for t, before in zip(trades, previous, strict=True) if t.price < before]
    assert len(up) > 2000 and len(down) > 2000
    assert up.count("BUY") / len(up) > 0.65
    assert down.count("BUY") / len(down) < 0.35
    volumes = [t.volume for t in trades]
    assert all(isinstance(v, int) and v >= 1 for v in volumes)
    mean_size = 4_000_000 / 400  # the bar's volume over the replay's trades per day
    assert abs(sum(volumes) / len(volumes) / mean_size - 1) < 0.1


# ---------------------------------------------------------------------------------------------
# Ids and records


def test_txn_ids_are_unique_and_never_a_replayed_id() -> None:
    market, clock = market_of(seed=10, always_open=True)
    trades = run_ticks(market, clock, ticks=20, per_tick=100)
    ids = [t.txn_id for t in trades]
    assert len(set(ids)) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    replay_ids = {txn_id(t.ticker, t.timestamp, seq) for seq, t in enumerate(trades)}
    assert replay_ids.isdisjoint(ids)
    first = trades[0]
    assert first.txn_id == live_txn_id(market.run_id, first.ticker, first.timestamp, 0)
    other, other_clock = market_of(seed=11, always_open=True)
    assert {t.txn_id for t in run_ticks(other, other_clock, ticks=20, per_tick=100)}.isdisjoint(ids)


def test_event_time_is_the_clock_at_millisecond_resolution() -> None:
    market, _ = market_of(seed=12, start=datetime(2026, 11, 18, 0, 30, 0, 123456, tzinfo=UTC))
    batch = market.trade(10)
    assert {t.timestamp for t in batch} == {datetime(2026, 11, 18, 0, 30, 0, 123000, tzinfo=UTC)}
    assert json.loads(batch[0].to_json())["timestamp"] == "2026-11-18T00:30:00.123Z"


def test_records_pass_silver_validation() -> None:
    market, clock = market_of(seed=13, start=datetime.now(UTC), always_open=True)
    trades = run_ticks(market, clock, ticks=5, per_tick=100)
    for trade in trades:
        value = trade.to_json()
        assert tuple(json.loads(value)) == CONTRACT_FIELDS
        assert silver_reason(value, TICKERS) is None
    # The check itself can fail: a record silver rejects is caught.
    bad = json.loads(trades[0].to_json()) | {"volume": 0}
    assert silver_reason(json.dumps(bad).encode(), TICKERS) is Reason.NON_POSITIVE_VOLUME


# ---------------------------------------------------------------------------------------------
# Pacing


@pytest.mark.parametrize(
    ("rate", "tick", "expected"),
    [
        (20, 0.25, [5, 5, 5, 5]),
        (20, 0.5, [10, 10, 10, 10]),
        (3, 0.5, [1, 2, 1, 2]),
        (0.5, 0.5, [0, 0, 0, 1]),
        (7, 0.1, [0, 1, 1, 0, 1, 1, 0, 1, 1, 1]),
    ],
)
def test_the_pacer_sends_rate_per_second_without_drift(rate: float, tick: float, expected: list[int]) -> None:
    pacer = Pacer(rate)
    sizes = [pacer.due((i + 1) * tick) for i in range(len(expected))]
    assert sizes == expected
    assert sum(sizes) == math.floor(rate * tick * len(expected) + 1e-9)


def test_the_pacer_catches_up_after_a_late_tick() -> None:
    pacer = Pacer(20)
    assert [pacer.due(0.5), pacer.due(2.0), pacer.due(2.5)] == [10, 30, 10]


# ---------------------------------------------------------------------------------------------
# Start prices


def write_bars(settings: Settings, rows: list[tuple[str, date, float, int]]) -> None:
    data = pa.table(
        {
            "ticker": pa.array([r[0] for r in rows], pa.string()),
            "trade_date": pa.array([r[1] for r in rows], pa.date32()),
            "open": pa.array([r[2] for r in rows], pa.float64()),
            "high": pa.array([r[2] * 1.01 for r in rows], pa.float64()),
            "low": pa.array([r[2] * 0.99 for r in rows], pa.float64()),
            "close": pa.array([r[2] for r in rows], pa.float64()),
            "volume": pa.array([r[3] for r in rows], pa.int64()),
            "source": pa.array(["yfinance"] * len(rows), pa.string()),
            "extracted_at": pa.array(
                [datetime(2026, 11, 18, tzinfo=UTC)] * len(rows), pa.timestamp("us", "UTC")
            ),
        }
    )
    write_deltalake(str(table(DAILY_BARS).path(settings)), data, partition_by=["trade_date"])


def offline_bar(ticker: str, day: date) -> DailyBar:
    profiles = {s.ticker: reference_profile(s.ticker) for s in UNIVERSE}
    (bar,) = OfflineSource(UNIVERSE, profiles).daily_bars([ticker], day, day)
    return bar


def test_start_prices_are_each_tickers_last_close_before_its_own_today(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_root=tmp_path)
    # At ASIA_MORNING it is 2026-11-18 in Tokyo but still 2026-11-17 in New York.
    write_bars(
        settings,
        [
            ("AAPL", date(2026, 11, 13), 250.0, 100),
            ("AAPL", date(2026, 11, 16), 251.0, 100),
            ("AAPL", date(2026, 11, 17), 252.0, 100),  # New York's today: not a last close
            ("7203.T", date(2026, 11, 16), 3010.0, 100),
            ("7203.T", date(2026, 11, 17), 3020.0, 100),
            ("7203.T", date(2026, 11, 18), 3030.0, 100),  # Tokyo's today
            ("MSFT", date(2026, 11, 16), 480.0, 100),
            ("MSFT", date(2026, 11, 17), 481.0, 100),
        ],
    )
    stocks = select_stocks(UNIVERSE, ["AAPL", "7203.T", "SAP"], "u.csv")
    with caplog.at_level(logging.WARNING, logger="stockstream.market.live"):
        bars = start_bars(settings, stocks, ASIA_MORNING)
    assert {t: (b.trade_date, b.close, b.source) for t, b in bars.items() if t != "SAP"} == {
        "AAPL": (date(2026, 11, 16), 251.0, "yfinance"),
        "7203.T": (date(2026, 11, 17), 3020.0, "yfinance"),
    }
    # SAP has no bar: the offline generator's bar of New York's previous weekday (Monday 16th).
    assert bars["SAP"] == offline_bar("SAP", date(2026, 11, 16))
    assert "reference.daily_bars has no bar before today for SAP" in caplog.text

    market = open_market(settings, ["AAPL", "7203.T"], seed=1, clock=FakeClock(ASIA_MORNING))
    assert market.prices() == {"AAPL": 251.0, "7203.T": 3020.0}


def test_without_daily_bars_every_ticker_starts_from_the_offline_close(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_root=tmp_path)
    stocks = select_stocks(UNIVERSE, ["7203.T", "AAPL"], "u.csv")
    # Monday 2026-11-23 00:30 UTC: Monday in Tokyo (previous weekday Friday 20th), Sunday in New York
    # (previous weekday Friday 20th as well).
    monday = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
    with caplog.at_level(logging.WARNING, logger="stockstream.market.live"):
        bars = start_bars(settings, stocks, monday)
    assert bars == {t: offline_bar(t, date(2026, 11, 20)) for t in ("AAPL", "7203.T")}
    assert "reference.daily_bars does not exist yet" in caplog.text
