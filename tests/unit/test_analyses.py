"""The six analyses on a hand-built gold fixture (every expected value worked out below), their
charts, and the render of PNGs + report.html from real Delta tables written with delta-rs (no Spark)."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from stockstream import lake
from stockstream.analyses import CHART_FILES, REPORT_FILE, RenderReport, compute, plot, render
from stockstream.analyses.load import COLUMNS, GOLD_TABLES, GoldData, load, normalise
from stockstream.config import Settings
from stockstream.market.sources import business_days
from stockstream.tables import (
    ACTION_DAILY,
    COUNTRY_DAILY,
    DAILY_BARS,
    DATA_QUALITY,
    INDUSTRY_DAILY,
    STOCK_DAILY,
    TECH_DAILY,
    table,
)
from tests.unit.ddl_columns import ddl_columns

pytestmark = [
    pytest.mark.unit,
    # seaborn 0.13's heatmap calls Colormap.set_bad, which matplotlib 3.11 marks for deprecation.
    pytest.mark.filterwarnings("ignore:The set_bad function:PendingDeprecationWarning"),
]

D1, D2, D3 = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)  # Mon, Tue, Wed
TECH, CYCL = "Technology", "Consumer Cyclical"
CE, SWI, SWA, AUTO = (
    "Consumer Electronics",
    "Software - Infrastructure",
    "Software - Application",
    "Auto Manufacturers",
)
US, JP, DE = "United States", "Japan", "Germany"
STOCKS = {
    "AAPL": (TECH, CE, US),
    "MSFT": (TECH, SWI, US),
    "6758.T": (TECH, CE, JP),
    "7203.T": (CYCL, AUTO, JP),
    "SAP": (TECH, SWA, DE),
}


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# (day, ticker, growth_pct, volume, trades, buy_volume): SAP has no row on D2, nothing has one on D3.
STOCK_ROWS = [
    (D1, "AAPL", 2.0, 1000, 40, 600),
    (D1, "MSFT", -1.0, 500, 5, 200),
    (D1, "6758.T", 1.0, 300, 2, 200),
    (D1, "7203.T", -3.0, 200, 2, 150),
    (D1, "SAP", 0.5, 100, 1, 50),
    (D2, "AAPL", -0.5, 1200, 20, 400),
    (D2, "MSFT", 1.5, 700, 10, 300),
    (D2, "6758.T", -2.0, 300, 5, 100),
    (D2, "7203.T", 4.0, 400, 5, 200),
]


def stock_daily() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "trade_date": day,
                "ticker": ticker,
                "volume": volume,
                "trades": trades,
                "buy_volume": buy,
                "sell_volume": volume - buy,
                "growth_pct": growth,
                "sector": STOCKS[ticker][0],
                "industry": STOCKS[ticker][1],
                "country": STOCKS[ticker][2],
                "updated_at": at(day, 21 + i % 2),
            }
            for i, (day, ticker, growth, volume, trades, buy) in enumerate(STOCK_ROWS)
        ]
    )


def group_rows(rows: list[tuple[date, str, float, int, int, int]], key: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "trade_date": day,
                key: name,
                "growth_pct": growth,
                "volume": volume,
                "stocks": stocks,
                "growing_stocks": growing,
                "updated_at": at(day, 22),
            }
            for day, name, growth, volume, stocks, growing in rows
        ]
    )


# Equal-weight means of the member stocks above, by hand.
INDUSTRY_ROWS = [
    (D1, CE, 1.5, 1300, 2, 2),  # AAPL 2.0, 6758.T 1.0
    (D1, SWI, -1.0, 500, 1, 0),
    (D1, AUTO, -3.0, 200, 1, 0),
    (D1, SWA, 0.5, 100, 1, 1),
    (D2, CE, -1.25, 1500, 2, 0),  # AAPL -0.5, 6758.T -2.0
    (D2, SWI, 1.5, 700, 1, 1),
    (D2, AUTO, 4.0, 400, 1, 1),
]
COUNTRY_ROWS = [
    (D1, US, 0.5, 1500, 2, 1),  # AAPL 2.0, MSFT -1.0
    (D1, JP, -1.0, 500, 2, 1),  # 6758.T 1.0, 7203.T -3.0
    (D1, DE, 0.5, 100, 1, 1),
    (D2, US, 0.5, 1900, 2, 1),  # AAPL -0.5, MSFT 1.5
    (D2, JP, 1.0, 700, 2, 1),  # 6758.T -2.0, 7203.T 4.0
]
TECH_ROWS = [row for row in INDUSTRY_ROWS if row[1] != AUTO]


def industry_daily() -> pd.DataFrame:
    return group_rows(INDUSTRY_ROWS, "industry")


def country_daily() -> pd.DataFrame:
    return group_rows(COUNTRY_ROWS, "country")


def tech_daily() -> pd.DataFrame:
    return group_rows(TECH_ROWS, "industry").assign(sector=TECH)


def action_daily() -> pd.DataFrame:
    # Shares add up to the day's stock volumes: D1 2100 = 1200 + 900, D2 2600 = 1000 + 1600.
    rows = [(D1, "BUY", 30, 1200), (D1, "SELL", 20, 900), (D2, "BUY", 10, 1000), (D2, "SELL", 30, 1600)]
    return pd.DataFrame(
        [
            {
                "trade_date": day,
                "action": action,
                "trades": trades,
                "shares": shares,
                "updated_at": at(day, 22),
            }
            for day, action, trades, shares in rows
        ]
    )


def daily_bars() -> pd.DataFrame:
    rows = [(D1, ticker, "offline") for ticker in STOCKS] + [
        (D2, ticker, "yfinance") for ticker in STOCKS if ticker != "SAP"
    ]
    return pd.DataFrame(rows, columns=["trade_date", "ticker", "source"])


def data_quality() -> pd.DataFrame:
    rows = [
        (D1, "conservation", "pass"),
        (D1, "replay_manifest", "skipped"),
        (D2, "source_fidelity", "pass"),
        (D2, "conservation", "fail"),
        (D2, "replay_manifest", "skipped"),
    ]
    return pd.DataFrame(
        [{"trade_date": d, "check_name": c, "status": s, "detail": f"{c} on {d}"} for d, c, s in rows]
    )


def table_frames() -> dict[str, pd.DataFrame]:
    """The hand-built rows of every table the analyses read, as they would be stored."""
    return {
        STOCK_DAILY: stock_daily(),
        INDUSTRY_DAILY: industry_daily(),
        COUNTRY_DAILY: country_daily(),
        TECH_DAILY: tech_daily(),
        ACTION_DAILY: action_daily(),
        DAILY_BARS: daily_bars(),
        DATA_QUALITY: data_quality(),
    }


def fixture_frames() -> dict[str, pd.DataFrame]:
    return {name: normalise(frame, COLUMNS[name]) for name, frame in table_frames().items()}


# ---------------------------------------------------------------------------------------------
# compute


def test_industry_growth_grid_is_ordered_by_mean_growth() -> None:
    grid = compute.industry_growth(industry_daily(), days=[D1, D2, D3])
    # Means over the days with data: Auto 0.5, SW-App 0.5 (D1 only), SW-Infra 0.25, CE 0.125;
    # the tie goes to the name.
    assert grid.index.tolist() == [AUTO, SWA, SWI, CE]
    growth = grid["growth_pct"]
    assert growth.columns.tolist() == [D1, D2, D3]
    assert growth.loc[CE].tolist()[:2] == [1.5, -1.25]
    assert growth.loc[AUTO].tolist()[:2] == [-3.0, 4.0]
    assert growth.loc[SWA, D1] == 0.5
    assert np.isnan(growth.loc[SWA, D2])
    assert growth[D3].isna().all()
    assert grid["growing_stocks"].loc[CE].tolist()[:2] == [2.0, 0.0]
    assert grid["stocks"].loc[CE].tolist()[:2] == [2.0, 2.0]


def test_country_growth_keeps_growing_and_total_counts() -> None:
    grid = compute.country_growth(country_daily())
    # Means: Germany 0.5 (D1 only), United States 0.5, Japan 0.0.
    assert grid.index.tolist() == [DE, US, JP]
    assert grid["growth_pct"].columns.tolist() == [D1, D2]
    assert grid["growth_pct"].loc[JP].tolist() == [-1.0, 1.0]
    assert grid["growing_stocks"].loc[US].tolist() == [1.0, 1.0]
    assert grid["stocks"].loc[JP].tolist() == [2.0, 2.0]
    assert np.isnan(grid["stocks"].loc[DE, D2])


def test_tech_growth_holds_only_technology_industries() -> None:
    grid = compute.tech_growth(tech_daily())
    assert grid.index.tolist() == [SWA, SWI, CE]
    assert grid["growth_pct"].loc[SWI].tolist() == [-1.0, 1.5]


def test_growth_grid_of_no_rows_is_empty() -> None:
    grid = compute.industry_growth(industry_daily().iloc[0:0], days=[D1])
    assert grid.empty
    assert grid.index.name == "industry"


def test_action_distribution_per_day_and_overall() -> None:
    frame = compute.action_distribution(action_daily())
    assert frame["period"].tolist() == ["2026-10-05", "2026-10-06", compute.OVERALL]
    assert frame["buy_trades"].tolist() == [30, 10, 40]
    assert frame["sell_trades"].tolist() == [20, 30, 50]
    assert frame["buy_shares"].tolist() == [1200, 1000, 2200]
    assert frame["sell_shares"].tolist() == [900, 1600, 2500]
    assert frame["buy_trades_pct"].tolist() == [60.0, 25.0, pytest.approx(100 * 40 / 90)]
    assert frame["sell_trades_pct"].tolist() == [40.0, 75.0, pytest.approx(100 * 50 / 90)]
    assert frame["buy_shares_pct"].tolist() == pytest.approx(
        [100 * 1200 / 2100, 100 * 1000 / 2600, 100 * 2200 / 4700]
    )
    assert frame["sell_shares_pct"].tolist() == pytest.approx(
        [100 * 900 / 2100, 100 * 1600 / 2600, 100 * 2500 / 4700]
    )


def test_action_distribution_with_one_action_only() -> None:
    frame = compute.action_distribution(action_daily().query("action == 'SELL' and trade_date == @D1"))
    assert frame["period"].tolist() == ["2026-10-05", compute.OVERALL]
    assert frame["buy_trades"].tolist() == [0, 0]
    assert frame["sell_shares"].tolist() == [900, 900]
    assert frame["buy_shares_pct"].tolist() == [0.0, 0.0]
    assert frame["sell_trades_pct"].tolist() == [100.0, 100.0]


def test_daily_volume_grid_has_every_ticker_and_day() -> None:
    grid = compute.daily_volume(stock_daily(), days=[D1, D2, D3])
    assert grid.index.tolist() == ["6758.T", "7203.T", "AAPL", "MSFT", "SAP"]
    assert grid.columns.tolist() == [D1, D2, D3]
    assert grid.loc["AAPL"].tolist()[:2] == [1000.0, 1200.0]
    assert grid.loc["SAP", D1] == 100.0
    assert np.isnan(grid.loc["SAP", D2])
    assert grid[D3].isna().all()


def test_volume_ranking_means_over_days_with_data() -> None:
    ranking = compute.volume_ranking(stock_daily())
    # SAP traded on D1 only: its mean is 100, not (100 + 0) / 2. 6758.T and 7203.T tie at 300.
    assert ranking.to_dict("list") == {
        "rank": [1, 2, 3, 4, 5],
        "ticker": ["AAPL", "MSFT", "6758.T", "7203.T", "SAP"],
        "mean_volume": [1100.0, 600.0, 300.0, 300.0, 100.0],
        "total_volume": [2200, 1200, 600, 600, 100],
        "days": [2, 2, 2, 2, 1],
    }


def test_top_movers_up_and_down() -> None:
    movers = compute.top_movers(stock_daily(), n=3)
    assert list(
        zip(movers["direction"], movers["ticker"], movers["trade_date"], movers["growth_pct"], strict=True)
    ) == [
        ("up", "7203.T", D2, 4.0),
        ("up", "AAPL", D1, 2.0),
        ("up", "MSFT", D2, 1.5),
        ("down", "7203.T", D1, -3.0),
        ("down", "6758.T", D2, -2.0),
        ("down", "MSFT", D1, -1.0),
    ]
    assert movers["industry"].tolist()[:2] == [AUTO, CE]


def test_top_movers_never_call_a_fall_a_rise() -> None:
    falls = stock_daily()[stock_daily()["growth_pct"] < 0]
    movers = compute.top_movers(falls, n=5)
    assert movers["direction"].tolist() == ["down"] * 4


def test_reconciliation_per_day() -> None:
    status = compute.reconciliation(data_quality(), [D1, D2, D3])
    assert status.to_dict("records") == [
        {"trade_date": D1, "status": "pass", "failing": "", "skipped": "replay_manifest", "checks": 2},
        {
            "trade_date": D2,
            "status": "fail",
            "failing": "conservation",
            "skipped": "replay_manifest",
            "checks": 3,
        },
        {"trade_date": D3, "status": "not finalised", "failing": "", "skipped": "", "checks": 0},
    ]


def test_data_sources() -> None:
    assert compute.data_sources(daily_bars()).to_dict("records") == [
        {"source": "offline", "bars": 5, "tickers": 5},
        {"source": "yfinance", "bars": 4, "tickers": 4},
    ]


def test_freshness_is_the_latest_update_and_version() -> None:
    frames = fixture_frames()
    fresh = compute.freshness(frames, {STOCK_DAILY: 7, TECH_DAILY: None})
    assert fresh["table"].tolist() == [STOCK_DAILY, TECH_DAILY]
    assert fresh["rows"].tolist() == [9, 5]
    assert fresh["updated_at"].tolist() == [pd.Timestamp(at(D2, 22)), pd.Timestamp(at(D2, 22))]
    assert fresh["version"].tolist()[0] == 7
    assert pd.isna(fresh["version"].tolist()[1])


def test_normalise_turns_decimals_and_timestamps_into_one_set_of_types() -> None:
    raw = pd.DataFrame(
        {
            "trade_date": [pd.Timestamp(D1)],
            "industry": [CE],
            "growth_pct": [Decimal("1.250000000000")],
            "volume": [Decimal("1300")],
            "stocks": [2],
            "growing_stocks": [2],
            "updated_at": [datetime(2026, 10, 5, 22)],
        }
    )
    frame = normalise(raw, COLUMNS[INDUSTRY_DAILY])
    assert frame["trade_date"].tolist() == [D1]
    assert frame["growth_pct"].dtype == "float64"
    assert frame["growth_pct"].tolist() == [1.25]
    assert frame["volume"].dtype == "int64"
    assert frame["updated_at"].tolist() == [pd.Timestamp(at(D1, 22))]


def test_loader_columns_are_ddl_columns() -> None:
    for name, columns in COLUMNS.items():
        declared = {column for column, _ in ddl_columns(name)}
        assert set(columns) <= declared, name


# ---------------------------------------------------------------------------------------------
# plot


def heatmap_cells(figure: Figure) -> int:
    """The number of cells of the figure's one heatmap (its colour bar is a mesh too, on axes[1])."""
    meshes = [c for c in figure.axes[0].collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    values = meshes[0].get_array()
    assert values is not None
    return int(values.size)


def texts(figure: Figure) -> list[str]:
    return [text.get_text() for ax in figure.axes for text in ax.texts]


def bar_count(ax: Axes) -> int:
    """The bars of an action panel: one polygon each in its BUY and SELL collections."""
    return sum(len(c.get_paths()) for c in ax.collections if isinstance(c, PolyCollection))


YEAR = business_days(date(2025, 12, 4), date(2026, 11, 20))  # 252 weekdays, Thu to Fri
YEAR_MONDAYS = list(range(2, 252, 5))  # Mon 2025-12-08 is the third day, Mon 2026-11-16 the 248th


def test_period_starts() -> None:
    days = [date(2026, 1, 29), date(2026, 1, 30), date(2026, 2, 2), date(2026, 2, 3), date(2026, 2, 9)]
    assert plot.period_starts(days, "day") == [0, 1, 2, 3, 4]
    assert plot.period_starts(days, "week") == [0, 2, 4]  # Thu, Mon, the next Mon
    assert plot.period_starts(days, "month") == [0, 2]


def test_spaced_keeps_from_the_right() -> None:
    assert plot.spaced([0, 2, 7, 12], 5) == [1, 2, 3]  # 0 is too close to 2, the later label wins
    assert plot.spaced([0, 1, 2, 3], 1) == [0, 1, 2, 3]
    assert plot.spaced([0, 1, 2, 3], 2) == [1, 3]
    assert plot.spaced([], 3) == []


def test_day_ticks_of_a_few_days_label_every_day() -> None:
    assert plot.day_ticks([D1, D2, D3], 0.8) == plot.DayTicks(
        positions=(0, 1, 2),
        labels=("2026-10-05\nMon", "2026-10-06\nTue", "2026-10-07\nWed"),
        rotation=0,
        every="day",
        gap=1.0,
    )
    month = business_days(date(2026, 10, 1), date(2026, 10, 30))
    ticks = plot.day_ticks(month, 0.25)  # 22 days turned upright, 0.25 inch apart
    assert (ticks.every, ticks.rotation, ticks.positions) == ("day", 90, tuple(range(22)))
    assert ticks.labels[:2] == ("Thu 10-01", "Fri 10-02")


def test_day_ticks_of_a_year_label_each_monday() -> None:
    ticks = plot.day_ticks(YEAR, (plot.MAX_WIDTH - 3.6) / 252)  # 0.081 inch a day
    assert (ticks.every, ticks.rotation) == ("week", 90)
    # Thu 2025-12-04, the partial first week, is two days before the next Monday: no room for both.
    assert ticks.positions == tuple(YEAR_MONDAYS)
    assert ticks.labels[:3] == ("Mon 12-08", "Mon 12-15", "Mon 12-22")
    assert ticks.labels[-1] == "Mon 11-16"
    assert all(f"{YEAR[i]:%a %m-%d}" == label for i, label in zip(ticks.positions, ticks.labels, strict=True))


def test_day_ticks_of_wider_weeks_stand_upright() -> None:
    ticks = plot.day_ticks(YEAR[:40], 0.17)  # a week is 0.85 inch: room for the ISO date
    assert (ticks.every, ticks.rotation) == ("week", 0)
    assert ticks.positions == (2, 7, 12, 17, 22, 27, 32, 37)
    assert ticks.labels[0] == "2025-12-08\nMon"


def test_day_ticks_of_years_label_months() -> None:
    ticks = plot.day_ticks(YEAR, 0.011)  # a week is 0.055 inch, a month about 0.23
    assert (ticks.every, ticks.rotation) == ("month", 90)
    assert ticks.labels == (
        "Thu 12-04",
        "Thu 01-01",
        "Mon 02-02",
        "Mon 03-02",
        "Wed 04-01",
        "Fri 05-01",
        "Mon 06-01",
        "Wed 07-01",
        "Mon 08-03",
        "Tue 09-01",
        "Thu 10-01",
        "Mon 11-02",
    )
    # Narrower still, months 20 or 21 days long lose their label to the next month's.
    narrow = plot.day_ticks(YEAR, 0.0095)
    assert [label[-5:-3] for label in narrow.labels] == ["01", "03", "04", "06", "07", "09", "10", "11"]


def test_bar_outlines() -> None:
    corners = plot.bar_outlines(
        np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 40.0]), np.array([40.0, np.nan, 100.0])
    )
    assert corners.tolist() == [
        [[-0.35, 0.0], [-0.35, 40.0], [0.35, 40.0], [0.35, 0.0]],
        [[1.65, 40.0], [1.65, 100.0], [2.35, 100.0], [2.35, 40.0]],
    ]


def test_human_counts() -> None:
    assert [plot.human(v) for v in (7, 999, 1000, 1200, 52_345_678, 999_600, 3.49e9, float("nan"))] == [
        "7",
        "999",
        "1k",
        "1.2k",
        "52.3M",
        "1M",
        "3.49B",
        "",
    ]


def test_signed_pct_has_no_negative_zero() -> None:
    assert [plot.signed_pct(v) for v in (0.4213, -1.0, -0.001, 0.0)] == ["+0.42%", "-1.00%", "0.00%", "0.00%"]


def test_industry_heatmap() -> None:
    grid = compute.industry_growth(industry_daily(), days=[D1, D2, D3])
    figure = plot.industry_growth_chart(grid, "2026-10-05 to 2026-10-07")
    ax = figure.axes[0]
    assert ax.get_title() == "Daily industry growth (equal-weight, %), 2026-10-05 to 2026-10-07"
    assert heatmap_cells(figure) == 4 * 3
    # One annotation per cell with data (7), none for the missing cells.
    assert sorted(texts(figure)) == sorted(
        ["+1.50%", "-1.25%", "-1.00%", "+1.50%", "-3.00%", "+4.00%", "+0.50%"]
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "2026-10-05\nMon",
        "2026-10-06\nTue",
        "2026-10-07\nWed",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == [AUTO, SWA, SWI, CE]
    assert "grey: no row for that day" in ax.get_xlabel()
    assert figure.axes[1].get_ylabel() == "growth (%)"  # the colour bar
    norm = next(c for c in ax.collections if isinstance(c, QuadMesh)).norm
    assert (norm.vmin, norm.vmax) == (-4.0, 4.0)  # centred on 0


def test_country_heatmap_shows_growing_over_total() -> None:
    figure = plot.country_growth_chart(compute.country_growth(country_daily()))
    assert figure.axes[0].get_title() == "Growing companies by country (mean growth, %)"
    assert heatmap_cells(figure) == 3 * 2
    assert sorted(texts(figure)) == sorted(
        ["+0.50%\n1/1", "+0.50%\n1/2", "+0.50%\n1/2", "-1.00%\n1/2", "+1.00%\n1/2"]
    )


def test_tech_heatmap() -> None:
    figure = plot.tech_growth_chart(compute.tech_growth(tech_daily()), "x")
    assert figure.axes[0].get_title() == "Technology market growth by industry (%), x"
    assert heatmap_cells(figure) == 3 * 2
    assert "+1.50%\n2/2" in texts(figure)


def test_action_chart() -> None:
    figure = plot.action_chart(compute.action_distribution(action_daily()), "p")
    assert figure.get_suptitle() == "Transaction type distribution: BUY vs SELL, p"
    trades, shares = figure.axes
    assert trades.get_ylabel() == "% of trades"
    assert shares.get_ylabel() == "% of shares"
    assert bar_count(trades) == 2 * 3  # BUY and SELL for two days and overall
    assert [t.get_text() for t in trades.get_xticklabels()] == [
        "2026-10-05\nMon",
        "2026-10-06\nTue",
        "All days",
    ]
    assert {"60.0%", "40.0%", "25.0%", "75.0%", "50", "40", "90"} <= set(texts(figure))
    assert {"2.1k", "2.6k", "4.7k"} <= {t.get_text() for t in shares.texts}


def test_action_chart_of_a_month_stacks_its_panels() -> None:
    days = pd.bdate_range("2026-10-01", "2026-10-30").date
    action = pd.DataFrame(
        [{"trade_date": d, "action": a, "trades": 10, "shares": 100} for d in days for a in ("BUY", "SELL")]
    )
    figure = plot.action_chart(compute.action_distribution(action))
    trades, shares = figure.axes
    assert trades.get_position().y0 > shares.get_position().y0  # one above the other
    assert shares.get_xticklabels()[0].get_text() == "Thu 10-01"
    assert bar_count(shares) == 2 * (len(days) + 1)
    totals = [t for t in shares.texts if t.get_position()[1] == 101.5]
    assert len(totals) == len(days) + 1  # every bar's total
    assert shares.get_title() == "Shares by action (number above a bar: its total shares)"


def test_action_chart_of_a_year_labels_weeks_and_the_overall_total() -> None:
    action = pd.DataFrame(
        [{"trade_date": d, "action": a, "trades": 10, "shares": 100} for d in YEAR for a in ("BUY", "SELL")]
    )
    figure = plot.action_chart(compute.action_distribution(action))
    trades, shares = figure.axes
    assert bar_count(shares) == 2 * 253
    labels = [t.get_text() for t in shares.get_xticklabels()]
    assert labels[:2] == ["Mon 12-08", "Mon 12-15"]
    assert labels[-2:] == ["Mon 11-16", "All days"]
    assert shares.get_xticks().tolist() == [*YEAR_MONDAYS, 252.6]
    # 253 totals 0.04 inch apart would overlap: only the overall one is written.
    assert [t.get_text() for t in trades.texts] == ["5.04k"]
    assert trades.get_title() == "Trades by action (number above 'All days': its total trades)"
    assert shares.get_xlabel() == "trade date (labelled: first trading day of each week)"


def test_volume_heatmap() -> None:
    figure = plot.volume_heatmap(compute.daily_volume(stock_daily(), days=[D1, D2, D3]))
    ax = figure.axes[0]
    assert ax.get_title() == "Daily trading volume per stock (shares)"
    assert heatmap_cells(figure) == 5 * 3
    assert sorted(texts(figure)) == sorted(["300", "300", "200", "400", "1k", "1.2k", "500", "700", "100"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["6758.T", "7203.T", "AAPL", "MSFT", "SAP"]
    assert figure.axes[1].get_ylabel() == "shares (log scale)"


def test_heatmap_of_a_year_labels_mondays_over_their_own_columns() -> None:
    frame = pd.DataFrame(
        [
            {"trade_date": d, "industry": name, "growth_pct": 1.0, "stocks": 2, "growing_stocks": 1}
            for d in YEAR
            for name in ("A", "B")
        ]
    )
    grid = compute.industry_growth(frame)
    figure = plot.industry_growth_chart(grid)
    ax = figure.axes[0]
    assert figure.get_size_inches().tolist()[0] == plot.MAX_WIDTH
    assert ax.get_xticks().tolist() == [i + 0.5 for i in YEAR_MONDAYS]  # the middle of each column
    labels = [t.get_text() for t in ax.get_xticklabels()]
    columns = list(grid["growth_pct"].columns)
    assert labels == [f"{columns[i]:%a %m-%d}" for i in YEAR_MONDAYS]
    assert labels[0] == "Mon 12-08" and columns[2] == date(2025, 12, 8)
    assert ax.get_xlabel() == "trade date (labelled: first trading day of each week)"
    assert texts(figure) == []  # no room for annotations


def test_volume_heatmap_of_53_tickers_stays_readable() -> None:
    tickers = [f"T{i:02d}" for i in range(53)]
    frame = pd.DataFrame(
        [
            {"trade_date": d, "ticker": t, "volume": 1000 * (i + 1)}
            for d in (D1, D2)
            for i, t in enumerate(tickers)
        ]
    )
    figure = plot.volume_heatmap(compute.daily_volume(frame))
    width, height = figure.get_size_inches()
    assert height / 53 >= 0.28  # each row keeps a readable height
    assert width == plot.WIDTH
    assert len(figure.axes[0].get_yticklabels()) == 53


def test_volume_ranking_chart_names_the_leader() -> None:
    figure = plot.volume_ranking_chart(compute.volume_ranking(stock_daily()), "p")
    ax = figure.axes[0]
    assert ax.get_title() == "Highest average trading volume: AAPL (1.1k shares/day), p"
    assert len(ax.patches) == 5
    assert to_hex(ax.patches[0].get_facecolor()) == plot.LEADER_COLOUR
    assert {to_hex(bar.get_facecolor()) for bar in ax.patches[1:]} == {plot.BAR_COLOUR}
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "1. AAPL",
        "2. MSFT",
        "3. 6758.T",
        "4. 7203.T",
        "5. SAP",
    ]
    assert ax.get_xlabel() == "mean shares per trading day"
    assert [t.get_text() for t in ax.texts] == ["1.1k", "600", "300", "300", "100"]


# ---------------------------------------------------------------------------------------------
# load and render, from real Delta tables


def arrow_type(spark_type: str, column: str):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    if column == "growth_pct":
        return pa.decimal128(24, 12)  # as a DECIMAL column arrives: Python Decimal objects in pandas
    return {
        "date": pa.date32(),
        "string": pa.string(),
        "double": pa.float64(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[spark_type]


def write_table(settings: Settings, name: str, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    from deltalake import write_deltalake

    types = dict(ddl_columns(name))
    columns = [column for column in frame.columns if column in types]
    data = {}
    for column in columns:
        values = frame[column].tolist()
        if column == "growth_pct":
            values = [Decimal(str(value)) for value in values]
        data[column] = pa.array(values, type=arrow_type(types[column], column))
    partition = ["trade_date"] if "trade_date" in columns else None
    write_deltalake(str(table(name).path(settings)), pa.table(data), partition_by=partition, mode="append")


@pytest.fixture
def lake_settings(tmp_path: Path) -> Settings:
    """A data root holding the fixture's tables (stock_daily written twice: Delta version 1)."""
    settings = Settings(data_root=tmp_path / "root")
    for name, frame in table_frames().items():
        write_table(settings, name, frame)
    write_table(
        settings, STOCK_DAILY, stock_daily().assign(trade_date=date(2026, 9, 30))
    )  # outside the range
    return settings


def test_load_reads_the_range_with_one_set_of_types(lake_settings: Settings) -> None:
    gold = load(lake_settings, D2, D3)
    stock = gold[STOCK_DAILY]
    assert sorted(stock["ticker"]) == ["6758.T", "7203.T", "AAPL", "MSFT"]
    assert set(stock["trade_date"]) == {D2}
    assert stock["growth_pct"].dtype == "float64"
    assert sorted(stock["growth_pct"]) == [-2.0, -0.5, 1.5, 4.0]
    assert gold[INDUSTRY_DAILY]["growth_pct"].dtype == "float64"
    assert gold.versions == {
        STOCK_DAILY: 1,
        INDUSTRY_DAILY: 0,
        COUNTRY_DAILY: 0,
        TECH_DAILY: 0,
        ACTION_DAILY: 0,
    }
    assert gold.days_with_data() == [D2]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"tEXt" not in data  # no software/time metadata: the same data gives the same bytes
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_render_writes_six_charts_and_the_report(lake_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "report"
    report = render(lake_settings, D1, D2, out)

    assert isinstance(report, RenderReport)
    assert not report.empty
    assert report.days_with_data == (D1, D2)
    assert report.missing_days == ()
    assert report.files == (*(out / name for name in CHART_FILES), out / REPORT_FILE)
    assert report.messages == ()
    sizes = {name: png_size(out / name) for name in CHART_FILES}
    # 12 inches wide at 100 dpi; the action chart is 6 inches high, the others their minimum 4.5.
    assert sizes == {name: (1200, 600 if name.startswith("2_") else 450) for name in CHART_FILES}
    for name in CHART_FILES:
        assert (out / name).stat().st_size > 10_000, name

    html = (out / REPORT_FILE).read_text()
    for name in CHART_FILES:
        assert f'<img src="{name}"' in html
    assert "AAPL: 1,100 shares per trading day" in html  # the volume leader
    assert "44.4% of trades (40)" in html  # BUY share of trades: 40 / 90
    assert "46.8% of shares (2,200)" in html  # BUY share of shares: 2200 / 4700
    assert "55.6% of trades (50)" in html
    assert "+4.00%" in html and "-3.00%" in html  # top mover up (7203.T D2) and down (7203.T D1)
    assert '<td class="pass">pass</td>' in html.replace("\n", "")
    assert "conservation" in html
    assert '<td class="fail">fail</td>' in html.replace("\n", "")
    assert "offline" in html and "yfinance" in html
    assert "gold.stock_daily as of 2026-10-06 22:00:00 UTC" in html.replace("\n", " ")
    # gold.stock_daily: 9 rows in range, latest updated_at, Delta version 1 (it was written twice).
    assert (
        '<td>gold.stock_daily</td><td class="num">9</td>'
        '<td>2026-10-06 22:00:00 UTC</td><td class="num">1</td>' in html.replace("\n", "")
    )

    # Idempotent: the same range gives the same bytes.
    before = {name: (out / name).read_bytes() for name in (*CHART_FILES, REPORT_FILE)}
    render(lake_settings, D1, D2, out)
    assert {name: (out / name).read_bytes() for name in (*CHART_FILES, REPORT_FILE)} == before


def test_render_escapes_every_value(tmp_path: Path) -> None:
    frames = fixture_frames()
    frames[STOCK_DAILY].loc[0, "industry"] = "<script>alert(1)</script>"
    frames[DAILY_BARS].loc[0, "source"] = "<b>offline</b>"

    def loader(settings: Settings, start: date, end: date) -> GoldData:
        return GoldData(frames=frames, versions={name: 3 for name in GOLD_TABLES})

    render(Settings(data_root=tmp_path / "root"), D1, D2, tmp_path / "out", loader=loader)
    html = (tmp_path / "out" / REPORT_FILE).read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>offline</b>" not in html and "&lt;b&gt;offline&lt;/b&gt;" in html


def test_render_of_a_table_without_some_days(tmp_path: Path) -> None:
    frames = fixture_frames()
    frames[TECH_DAILY] = frames[TECH_DAILY].iloc[0:0]
    frames[COUNTRY_DAILY] = frames[COUNTRY_DAILY][frames[COUNTRY_DAILY]["trade_date"] == D1]
    out = tmp_path / "out"
    (out).mkdir()
    (out / CHART_FILES[5]).write_bytes(b"stale chart of an earlier render")

    def loader(settings: Settings, start: date, end: date) -> GoldData:
        return GoldData(frames=frames, versions={name: 3 for name in GOLD_TABLES})

    report = render(Settings(data_root=tmp_path / "root"), D1, D2, out, loader=loader)
    assert report.messages == (
        f"{COUNTRY_DAILY} has no rows for 2026-10-06 although other gold tables do.",
        f"Chart 6 (Growing technologies market): {TECH_DAILY} has no rows for 2026-10-05 to 2026-10-06.",
    )
    assert report.files == (*(out / name for name in CHART_FILES[:5]), out / REPORT_FILE)
    assert not (out / CHART_FILES[5]).exists()
    html = (out / REPORT_FILE).read_text()
    assert f'<img src="{CHART_FILES[5]}"' not in html
    assert "Not drawn: no data for 2026-10-05 to 2026-10-06." in html


def test_render_of_a_missing_day(lake_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "report"
    report = render(lake_settings, D1, D3, out)
    assert report.days_with_data == (D1, D2)
    assert report.missing_days == (D3,)
    assert report.messages[0] == (
        "No gold rows for 1 of 3 business day(s): 2026-10-07. "
        "The charts and the summary cover the 2 day(s) with data."
    )
    assert all((out / name).exists() for name in CHART_FILES)
    html = (out / REPORT_FILE).read_text()
    assert "No gold rows for 1 of 3 business day(s): 2026-10-07." in html
    assert "2026-10-07 Wed</td><td>none</td>" in html
    assert '<td class="pending">not finalised</td>' in html.replace("\n", "")
    # The missing day is a column of its own (grey) in the heatmaps: 4 industries x 3 days.
    assert png_size(out / CHART_FILES[0])[0] == plot.WIDTH * 100


def test_render_of_an_empty_range(lake_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "report"
    render(lake_settings, D1, D2, out)  # charts from an earlier render must not survive
    report = render(lake_settings, date(2026, 11, 2), date(2026, 11, 4), out)
    assert report.empty
    assert report.days_with_data == ()
    assert report.missing_days == (date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4))
    assert report.files == (out / REPORT_FILE,)
    assert report.messages == (
        "No gold rows for 2026-11-02 to 2026-11-04: no charts were drawn. "
        "Has the range been extracted, replayed and processed by the stream?",
    )
    assert sorted(path.name for path in out.iterdir()) == [REPORT_FILE]
    html = (out / REPORT_FILE).read_text()
    assert "Empty range." in html
    assert "<img" not in html
    assert html.count("not finalised") == 3


def test_render_without_any_table(tmp_path: Path) -> None:
    report = render(Settings(data_root=tmp_path / "root"), D1, D1, tmp_path / "out")
    assert report.empty
    assert report.missing_days == (D1,)
    html = (tmp_path / "out" / REPORT_FILE).read_text()
    assert "table missing" in html
    assert lake.version(Settings(data_root=tmp_path / "root"), STOCK_DAILY) is None


def test_render_rejects_a_reversed_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="after end"):
        render(Settings(data_root=tmp_path), D2, D1, tmp_path / "out")
