from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from stockstream.errors import StockstreamError
from stockstream.market.sample import sample_transactions
from stockstream.market.seed_csv import read_seed_csv

pytestmark = pytest.mark.unit


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_seed_format_round_trip_sorted_by_time(tmp_path: Path) -> None:
    trades = list(sample_transactions(60, date(2026, 11, 20)))
    # The seed wrote each ticker's rows newest first.
    rows = sorted(trades, key=lambda t: (t.ticker, t.timestamp), reverse=True)
    lines = ["ticker,timestamp,price,volume,action"] + [
        f"{t.ticker},{t.timestamp.strftime('%Y-%m-%d %H:%M:%S.%f')},{t.price},{t.volume},{t.action}"
        for t in rows
    ]
    read = read_seed_csv(write(tmp_path / "seed.csv", lines), "UTC", {"AAPL": "USD"})
    assert [(t.ticker, t.timestamp, t.price, t.volume, t.action) for t in read] == [
        (t.ticker, t.timestamp, t.price, t.volume, t.action) for t in trades
    ]
    assert all(t.currency == ("USD" if t.ticker == "AAPL" else "") for t in read)
    again = read_seed_csv(tmp_path / "seed.csv", "UTC")
    assert [t.txn_id for t in again] == [t.txn_id for t in read], "deterministic ids"
    assert len({t.txn_id for t in read}) == 60


def test_naive_timestamps_are_read_in_the_given_timezone(tmp_path: Path) -> None:
    path = write(
        tmp_path / "s.csv",
        [
            "ticker,timestamp,price,volume,action",
            "7203.T,2026-11-20 09:00:00,2700.5,100,buy",
            "AAPL,2026-11-20T14:30:00Z,228,5,SELL",
        ],
    )
    first, second = read_seed_csv(path, "Asia/Tokyo")
    assert (first.ticker, first.timestamp, first.action) == (
        "7203.T",
        datetime(2026, 11, 20, 0, 0, tzinfo=UTC),
        "BUY",
    )
    assert second.timestamp == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("AAPL,2026-11-20 14:30:00,-1,10,BUY", "line 3: price '-1' must be a positive number"),
        ("AAPL,yesterday,228,10,BUY", "line 3: timestamp 'yesterday' is not ISO-8601"),
        ("AAPL,2026-11-20 14:30:00,228,ten,BUY", "line 3: volume 'ten' is not a whole number"),
        ("AAPL,2026-11-20 14:30:00,228,2.5,BUY", "line 3: volume '2.5' must be a positive whole number"),
        ("AAPL,2026-11-20 14:30:00,228,10,HOLD", "line 3: action 'HOLD' is not BUY or SELL"),
        ("AAPL,2026-11-20 14:30:00,228", "line 3: expected 5 fields"),
    ],
)
def test_a_bad_row_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    path = write(
        tmp_path / "bad.csv",
        ["ticker,timestamp,price,volume,action", "AAPL,2026-11-20 14:29:00,228,10,BUY", row],
    )
    with pytest.raises(StockstreamError) as info:
        read_seed_csv(path)
    assert message in info.value.message
    assert str(path) in info.value.message


def test_header_timezone_and_path_errors(tmp_path: Path) -> None:
    with pytest.raises(StockstreamError, match="header"):
        read_seed_csv(write(tmp_path / "h.csv", ["symbol,time,price,qty,side"]))
    with pytest.raises(StockstreamError, match="not a timezone"):
        read_seed_csv(write(tmp_path / "ok.csv", ["ticker,timestamp,price,volume,action"]), "Mars/Olympus")
    with pytest.raises(StockstreamError, match="cannot read"):
        read_seed_csv(tmp_path / "missing.csv")
