from __future__ import annotations

import os
from datetime import time
from pathlib import Path

import pytest

from stockstream.errors import StockstreamError
from stockstream.market.model import Session, Stock
from stockstream.market.reference import (
    SESSIONS,
    UNIVERSE_CSV,
    load_universe,
    reference_profile,
    session_for,
)

pytestmark = pytest.mark.unit

SEED_TICKERS = [
    *("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "JPM", "V", "JNJ", "WMT", "BABA", "TCEHY", "PDD"),
    *("BIDU", "NIO", "005930.KS", "000660.KS", "035420.KS", "TTE", "LVMUY", "OR.PA", "SAN.PA", "SAP"),
    *("VOW3.DE", "SIE.DE", "ALV.DE", "HSBC", "GSK", "BP", "VOD", "TM", "SONY", "7974.T", "6758.T", "RY.TO"),
    *("TD.TO", "ENB.TO", "CNR.TO", "RELIANCE.NS", "TCS.NS", "HDFCBANK.NS", "VALE3.SA", "PETR4.SA"),
    *("ITUB4.SA", "NESN.SW", "ROG.SW", "NOVN.SW", "ASX.AX", "BHP.AX", "NAB.AX", "7203.T", "9984.T"),
    "9433.T",
]
COUNTRIES = {
    "United States",
    "China",
    "South Korea",
    "France",
    "Germany",
    "United Kingdom",
    "Japan",
    "Canada",
    "India",
    "Brazil",
    "Switzerland",
    "Australia",
}
HEADER = "ticker,name,sector,industry,country,currency,exchange,exchange_timezone,base_price,avg_volume\n"
AAPL_LINE = (
    "AAPL,Apple Inc.,Technology,Consumer Electronics,United States,USD,NMS,America/New_York,260,50000000\n"
)


@pytest.fixture(scope="module")
def universe() -> dict[str, Stock]:
    return {stock.ticker: stock for stock in load_universe()}


def test_default_universe_is_the_seed_tickers_in_file_order() -> None:
    assert [stock.ticker for stock in load_universe()] == SEED_TICKERS


def test_default_universe_spans_the_twelve_countries(universe: dict[str, Stock]) -> None:
    assert {stock.country for stock in universe.values()} == COUNTRIES


def test_default_universe_has_several_technology_industries(universe: dict[str, Stock]) -> None:
    industries = {stock.industry for stock in universe.values() if stock.sector == "Technology"}
    assert len(industries) >= 4
    assert {"Consumer Electronics", "Semiconductors", "Software - Infrastructure"} <= industries


def test_spot_checks(universe: dict[str, Stock]) -> None:
    assert universe["AAPL"] == Stock(
        ticker="AAPL",
        name="Apple Inc.",
        sector="Technology",
        industry="Consumer Electronics",
        country="United States",
        currency="USD",
        exchange="NMS",
        exchange_timezone="America/New_York",
    )
    assert (universe["HSBC"].country, universe["HSBC"].currency) == ("United Kingdom", "USD")
    assert (universe["7203.T"].currency, universe["7203.T"].exchange_timezone) == ("JPY", "Asia/Tokyo")
    assert universe["SAP"].country == "Germany"
    assert universe["005930.KS"].name == "Samsung Electronics Co., Ltd."
    assert universe["LVMUY"].name == "LVMH Moët Hennessy - Louis Vuitton, Société Européenne"


def test_every_exchange_has_a_session_in_the_rows_timezone(universe: dict[str, Stock]) -> None:
    for stock in universe.values():
        assert stock.exchange in SESSIONS, stock.ticker
        assert session_for(stock).timezone == stock.exchange_timezone, stock.ticker


def test_sessions_open_before_they_close() -> None:
    for code, session in SESSIONS.items():
        assert session.open < session.close, code


def test_unknown_exchange_gets_a_default_session_in_its_own_timezone(universe: dict[str, Stock]) -> None:
    stock = Stock("XYZ", "X", "S", "I", "Mexico", "MXN", "MEX", "America/Mexico_City")
    assert session_for(stock) == Session("America/Mexico_City", time(9, 30), time(16, 0))
    assert session_for(universe["NESN.SW"]) == Session("Europe/Zurich", time(9, 0), time(17, 30))


def test_reference_profile() -> None:
    assert reference_profile("AAPL") == (260.0, 50_000_000)
    with pytest.raises(StockstreamError, match="NOPE"):
        reference_profile("NOPE")


def test_reference_profile_of_a_custom_file_follows_its_edits(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER + AAPL_LINE, encoding="utf-8")
    assert reference_profile("AAPL", path) == (260.0, 50_000_000)
    path.write_text(HEADER + AAPL_LINE.replace(",260,", ",250.5,"), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert reference_profile("AAPL", path) == (250.5, 50_000_000)
    with pytest.raises(StockstreamError, match="'MSFT' is not in the reference universe"):
        reference_profile("MSFT", path)


def test_default_path_is_the_packaged_file() -> None:
    assert load_universe(UNIVERSE_CSV) == load_universe()


def test_a_custom_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER + AAPL_LINE, encoding="utf-8")
    assert [stock.ticker for stock in load_universe(path)] == ["AAPL"]


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        (AAPL_LINE.replace("America/New_York", "America/Nowhere"), "line 3: exchange_timezone"),
        (AAPL_LINE.replace("America/New_York", "America"), "line 3: exchange_timezone"),
        (AAPL_LINE, "line 3: duplicate ticker 'AAPL' (first on line 2)"),
        (AAPL_LINE.replace("AAPL,", "MSFT,").replace(",USD,", ",usd,"), "line 3: currency 'usd'"),
        (AAPL_LINE.replace("AAPL,", "MSFT,").replace("Technology", " "), "line 3: empty sector"),
        (AAPL_LINE.replace("AAPL,", "MSFT,").replace("50000000", "lots"), "line 3: base_price or avg"),
        (AAPL_LINE.replace("AAPL,", "MSFT,").replace("\n", ",extra\n"), "line 3: 11 fields"),
        ("MSFT,Microsoft Corporation\n", "line 3: empty sector"),
    ],
)
def test_a_malformed_file_names_the_file_and_line(tmp_path: Path, bad_line: str, problem: str) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER + AAPL_LINE + bad_line, encoding="utf-8")
    with pytest.raises(StockstreamError) as raised:
        load_universe(path)
    assert str(path) in raised.value.message
    assert problem in raised.value.message


def test_a_wrong_header_or_a_missing_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "universe.csv"
    path.write_text(HEADER.replace("industry", "sub_sector") + AAPL_LINE, encoding="utf-8")
    with pytest.raises(StockstreamError, match="line 1: header"):
        load_universe(path)
    with pytest.raises(StockstreamError, match="cannot read"):
        load_universe(tmp_path / "missing.csv")
