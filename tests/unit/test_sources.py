from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stockstream.errors import StockstreamError
from stockstream.market import sources
from stockstream.market.model import DailyBar, Stock
from stockstream.market.reference import load_universe, reference_profile
from stockstream.market.sources import OfflineSource, YFinanceSource, business_days, parse_history, parse_info

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def offline() -> OfflineSource:
    universe = load_universe()
    return OfflineSource(universe, {s.ticker: reference_profile(s.ticker) for s in universe})


def test_business_days_skip_weekends() -> None:
    assert business_days(date(2026, 11, 19), date(2026, 11, 24)) == [
        date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24),
    ]  # fmt: skip


def test_offline_bars_do_not_depend_on_the_queried_range(offline: OfflineSource) -> None:
    wide = offline.daily_bars(["AAPL", "7203.T"], date(2026, 10, 1), date(2026, 11, 30))
    narrow = offline.daily_bars(["7203.T", "AAPL"], date(2026, 11, 18), date(2026, 11, 20))
    by_key = {(b.ticker, b.trade_date): b for b in wide}
    assert len(narrow) == 6
    for bar in narrow:
        assert by_key[(bar.ticker, bar.trade_date)] == bar
    assert all(bar.trade_date.weekday() < 5 and bar.source == "offline" for bar in wide)


def test_offline_bars_are_valid_and_at_the_tickers_scale(offline: OfflineSource) -> None:
    universe = load_universe()
    bars = offline.daily_bars([s.ticker for s in universe], date(2026, 6, 1), date(2026, 6, 30))
    assert len(bars) == 53 * 22
    for bar in bars:
        assert 0 < bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high, bar
        price, volume = reference_profile(bar.ticker)
        assert price / 3 < bar.close < price * 3, bar
        assert volume / 5 < bar.volume < volume * 5, bar


def test_offline_sectors_move_together(offline: OfflineSource) -> None:
    """Same-sector stocks are more correlated than stocks of different sectors: the heatmaps
    show structure, not noise."""
    universe = load_universe()
    tickers = [s.ticker for s in universe]
    sector = {s.ticker: s.sector for s in universe}
    bars = offline.daily_bars(tickers, date(2025, 1, 1), date(2025, 12, 31))
    frame = pd.DataFrame([(b.ticker, b.trade_date, b.close) for b in bars], columns=["t", "d", "c"])
    returns = np.log(frame.pivot(index="d", columns="t", values="c")).diff().dropna()
    corr = returns.corr()
    same = [corr.loc[a, b] for a in tickers for b in tickers if a < b and sector[a] == sector[b]]
    other = [corr.loc[a, b] for a in tickers for b in tickers if a < b and sector[a] != sector[b]]
    assert np.mean(same) > np.mean(other) + 0.1
    assert np.mean(other) > 0.05, "a market factor moves everything a little"


def test_offline_refuses_unknown_tickers(offline: OfflineSource) -> None:
    with pytest.raises(StockstreamError, match="ZZZZ"):
        offline.daily_bars(["ZZZZ"], date(2026, 11, 2), date(2026, 11, 3))


def yahoo_frame() -> pd.DataFrame:
    """What Ticker.history(auto_adjust=False, actions=False) returns: exchange-local timestamps."""
    index = pd.DatetimeIndex(
        ["2026-11-19 00:00:00-05:00", "2026-11-20 00:00:00-05:00", "2026-11-23 00:00:00-05:00"], name="Date"
    )
    return pd.DataFrame(
        {
            "Open": [227.5, 229.0, float("nan")],
            "High": [230.1, 231.0, float("nan")],
            "Low": [226.0, 228.2, float("nan")],
            "Close": [229.3, 228.9, float("nan")],
            "Adj Close": [229.3, 228.9, float("nan")],
            "Volume": [41234567, 39000000, 0],
        },
        index=index,
    )


def test_history_frames_become_bars_and_incomplete_rows_are_left_out() -> None:
    assert parse_history("AAPL", yahoo_frame()) == [
        DailyBar("AAPL", date(2026, 11, 19), 227.5, 230.1, 226.0, 229.3, 41234567, "yfinance"),
        DailyBar("AAPL", date(2026, 11, 20), 229.0, 231.0, 228.2, 228.9, 39000000, "yfinance"),
    ]
    assert parse_history("AAPL", pd.DataFrame()) == []


class FakeTicker:
    """Stands in for yfinance.Ticker at its boundary: the frames and dicts Yahoo's client returns."""

    calls: list[tuple[str, dict[str, Any]]] = []
    fail: bool = False

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol

    def history(self, **kwargs: Any) -> pd.DataFrame:
        FakeTicker.calls.append((self.symbol, kwargs))
        if FakeTicker.fail:
            raise ConnectionError("Could not resolve host: query2.finance.yahoo.com")
        return yahoo_frame() if self.symbol == "AAPL" else pd.DataFrame()

    @property
    def info(self) -> dict[str, Any]:
        return {
            "longName": "Apple Inc.",
            "sector": "Technology",
            "industry": "Consumer Electronics",
            "country": "United States",
            "currency": "USD",
            "exchange": "NMS",
            "exchangeTimezoneName": "America/New_York",
        }


@pytest.fixture
def fake_yahoo(monkeypatch: pytest.MonkeyPatch) -> YFinanceSource:
    FakeTicker.calls = []
    FakeTicker.fail = False
    source = YFinanceSource(attempts=2)
    monkeypatch.setattr(source._yf, "Ticker", FakeTicker)
    monkeypatch.setattr(sources.time, "sleep", lambda _: None)
    return source


def test_yfinance_source_asks_for_unadjusted_bars_with_an_inclusive_end(fake_yahoo: YFinanceSource) -> None:
    bars = fake_yahoo.daily_bars(["AAPL"], date(2026, 11, 19), date(2026, 11, 23))
    assert [bar.trade_date for bar in bars] == [date(2026, 11, 19), date(2026, 11, 20)]
    symbol, kwargs = FakeTicker.calls[0]
    assert symbol == "AAPL"
    assert kwargs["start"] == "2026-11-19" and kwargs["end"] == "2026-11-24"
    assert kwargs["auto_adjust"] is False and kwargs["interval"] == "1d"


def test_yfinance_source_errors_when_no_ticker_returns_anything(fake_yahoo: YFinanceSource) -> None:
    with pytest.raises(StockstreamError, match="no bars for MSFT"):
        fake_yahoo.daily_bars(["MSFT"], date(2026, 11, 19), date(2026, 11, 20))


def test_yfinance_source_retries_then_says_what_to_do(fake_yahoo: YFinanceSource) -> None:
    FakeTicker.fail = True
    with pytest.raises(StockstreamError) as info:
        fake_yahoo.daily_bars(["AAPL"], date(2026, 11, 19), date(2026, 11, 20))
    assert len(FakeTicker.calls) == 2, "one retry"
    assert "after 2 attempts" in info.value.message
    assert info.value.hint is not None and "--source offline" in info.value.hint


def test_profiles_come_from_ticker_info(fake_yahoo: YFinanceSource) -> None:
    assert fake_yahoo.profiles(["AAPL"]) == [
        Stock(
            "AAPL",
            "Apple Inc.",
            "Technology",
            "Consumer Electronics",
            "United States",
            "USD",
            "NMS",
            "America/New_York",
        )
    ]


def test_missing_profile_fields_fall_back_to_the_universe_or_fail_by_name() -> None:
    fallback = Stock(
        "SAP", "SAP SE", "Technology", "Software - Application", "Germany", "USD", "NYQ", "America/New_York"
    )
    stock = parse_info("SAP", {"longName": "SAP SE", "currency": "USD"}, fallback)
    assert stock == fallback
    with pytest.raises(StockstreamError, match="no sector, industry, country"):
        parse_info(
            "NEW",
            {"longName": "New Co", "currency": "USD", "exchange": "NMS", "exchangeTimezoneName": "UTC"},
            None,
        )


def test_auto_falls_back_to_offline_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from stockstream.config import Settings
    from stockstream.market import extract

    monkeypatch.setattr(extract, "yahoo_reachable", lambda: False)
    with caplog.at_level("WARNING", logger="stockstream"):
        source = extract.choose_source(Settings(), "auto")
    assert isinstance(source, OfflineSource)
    assert "Yahoo Finance is not reachable" in caplog.text


def test_auto_uses_yahoo_when_it_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    from stockstream.config import Settings
    from stockstream.market import extract

    monkeypatch.setattr(extract, "yahoo_reachable", lambda: True)
    assert isinstance(extract.choose_source(Settings(), "auto"), YFinanceSource)
