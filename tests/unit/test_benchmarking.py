"""The benchmarks' shared helpers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stockstream.benchmarking import last_weekdays, universe_of
from stockstream.market.reference import load_universe, reference_profile


def test_a_larger_universe_copies_the_packaged_one_under_new_tickers(tmp_path: Path) -> None:
    packaged = load_universe()
    bigger = load_universe(universe_of(len(packaged) * 2 + 3, tmp_path / "universe.csv"))
    tickers = [stock.ticker for stock in bigger]
    assert len(tickers) == len(set(tickers)) == len(packaged) * 2 + 3
    assert tickers[: len(packaged)] == [stock.ticker for stock in packaged]
    first = packaged[0]
    copy = bigger[len(packaged)]
    assert (copy.ticker, copy.name) == (f"{first.ticker}-2", f"{first.name} (copy 2)")
    assert (copy.sector, copy.industry, copy.country, copy.exchange) == (
        first.sector,
        first.industry,
        first.country,
        first.exchange,
    )
    assert tickers[-1] == f"{packaged[2].ticker}-3"
    path = tmp_path / "universe.csv"
    assert reference_profile(copy.ticker, path) == reference_profile(first.ticker)


def test_a_smaller_universe_is_the_packaged_ones_first_tickers(tmp_path: Path) -> None:
    packaged = load_universe()
    assert load_universe(universe_of(5, tmp_path / "u.csv")) == packaged[:5]
    with pytest.raises(ValueError, match="at least one ticker"):
        universe_of(0, tmp_path / "none.csv")


def test_the_last_weekdays_up_to_a_day_oldest_first() -> None:
    assert last_weekdays(date(2026, 11, 20), 3) == [date(2026, 11, d) for d in (18, 19, 20)]
    # Up to a Sunday: the weekend is skipped, and so is the one before.
    assert last_weekdays(date(2026, 11, 22), 6) == [date(2026, 11, d) for d in (13, 16, 17, 18, 19, 20)]
    year = last_weekdays(date(2026, 11, 20), 252)
    assert len(year) == 252 and year[-1] == date(2026, 11, 20) and year[0] == date(2025, 12, 4)
    assert all(day.weekday() < 5 for day in year)
