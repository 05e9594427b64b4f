"""The six analyses as pure functions: gold frames of a date range -> small exact pandas frames.

No IO and no clock here: every function is a function of its input frames only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import pandas as pd

GROWTH_METRICS = ("growth_pct", "growing_stocks", "stocks")
ACTIONS = ("BUY", "SELL")
OVERALL = "All days"
NOT_FINALISED = "not finalised"
_NOT_FAILING = frozenset({"pass", "skipped"})


def _all_days(frame: pd.DataFrame, days: Iterable[date]) -> list[date]:
    return sorted(set(frame["trade_date"]) | set(days))


def growth_grid(frame: pd.DataFrame, group: str, days: Sequence[date] = ()) -> pd.DataFrame:
    """Growth per group x trade_date: one row per group, columns (metric, trade_date) for
    growth_pct, growing_stocks and stocks, one trade_date per day with rows or in `days` (NaN
    where a group has no row); rows ordered by mean growth over the days with data (best first)."""
    columns = pd.MultiIndex.from_product(
        [list(GROWTH_METRICS), _all_days(frame, days)], names=["metric", "trade_date"]
    )
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name=group), columns=columns, dtype="float64")
    grid = frame.pivot(index=group, columns="trade_date", values=list(GROWTH_METRICS))
    grid = grid.astype("float64").reindex(columns=columns)
    mean = grid["growth_pct"].mean(axis=1)
    order = sorted(grid.index, key=lambda name: (-mean[name], name))
    return grid.loc[order]


def industry_growth(industry_daily: pd.DataFrame, days: Sequence[date] = ()) -> pd.DataFrame:
    """Analysis 1: equal-weight mean growth (%) per industry x trade_date (gold.industry_daily)."""
    return growth_grid(industry_daily, "industry", days)


def action_distribution(action_daily: pd.DataFrame) -> pd.DataFrame:
    """Analysis 2: trades and shares by action per day plus an 'All days' row, with each action's
    share (%) of the period's trades and shares."""
    frame = action_daily[action_daily["action"].isin(ACTIONS)]
    columns = [f"{action.lower()}_{measure}" for measure in ("trades", "shares") for action in ACTIONS]
    if frame.empty:
        return pd.DataFrame(columns=["period", *columns, *_pct_columns()])
    wide = frame.pivot_table(
        index="trade_date", columns="action", values=["trades", "shares"], aggfunc="sum", fill_value=0
    )
    rows = pd.DataFrame(
        {
            f"{action.lower()}_{measure}": wide[measure].get(action, 0)
            for measure in ("trades", "shares")
            for action in ACTIONS
        },
        index=wide.index,
    ).astype("int64")
    rows.loc[OVERALL] = rows.sum()
    rows.index = [day.isoformat() if isinstance(day, date) else day for day in rows.index]
    for measure in ("trades", "shares"):
        total = rows[f"buy_{measure}"] + rows[f"sell_{measure}"]
        for action in ACTIONS:
            rows[f"{action.lower()}_{measure}_pct"] = (
                rows[f"{action.lower()}_{measure}"] / total * 100
            ).where(total > 0)
    return rows.rename_axis("period").reset_index()


def _pct_columns() -> list[str]:
    return [f"{action.lower()}_{measure}_pct" for measure in ("trades", "shares") for action in ACTIONS]


def daily_volume(stock_daily: pd.DataFrame, days: Sequence[date] = ()) -> pd.DataFrame:
    """Analysis 3: shares traded per ticker x trade_date, one trade_date per day with rows or in
    `days` (NaN where a ticker has no row); tickers in alphabetical order so one can be looked up."""
    columns = pd.Index(_all_days(stock_daily, days), name="trade_date")
    if stock_daily.empty:
        return pd.DataFrame(index=pd.Index([], name="ticker"), columns=columns, dtype="float64")
    grid = stock_daily.pivot(index="ticker", columns="trade_date", values="volume").astype("float64")
    return grid.sort_index().reindex(columns=columns)


def volume_ranking(stock_daily: pd.DataFrame) -> pd.DataFrame:
    """Analysis 4: mean shares per trading day per ticker over the range, ranked (1 = leader).

    The mean is over the days the ticker has a gold row: a day with no data is not a day of zero
    volume (it may simply not have been processed yet)."""
    columns = ["rank", "ticker", "mean_volume", "total_volume", "days"]
    if stock_daily.empty:
        return pd.DataFrame(columns=columns)
    grouped = stock_daily.groupby("ticker")["volume"]
    frame = pd.DataFrame(
        {"mean_volume": grouped.mean(), "total_volume": grouped.sum(), "days": grouped.count()}
    ).reset_index()
    frame = frame.sort_values(["mean_volume", "ticker"], ascending=[False, True], ignore_index=True)
    frame["rank"] = range(1, len(frame) + 1)
    return frame[columns]


def country_growth(country_daily: pd.DataFrame, days: Sequence[date] = ()) -> pd.DataFrame:
    """Analysis 5: mean growth (%) and growing/total stocks per country x trade_date (gold.country_daily)."""
    return growth_grid(country_daily, "country", days)


def tech_growth(tech_daily: pd.DataFrame, days: Sequence[date] = ()) -> pd.DataFrame:
    """Analysis 6: mean growth (%) per Technology-sector industry x trade_date (gold.tech_daily)."""
    return growth_grid(tech_daily, "industry", days)


def top_movers(stock_daily: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The n stock-days with the largest rise and the n with the largest fall of growth_pct
    (direction 'up' rows first; only positive growth counts as up, only negative as down)."""
    columns = ["direction", "ticker", "trade_date", "growth_pct", "industry", "country"]
    up = stock_daily[stock_daily["growth_pct"] > 0].sort_values(
        ["growth_pct", "ticker", "trade_date"], ascending=[False, True, True]
    )
    down = stock_daily[stock_daily["growth_pct"] < 0].sort_values(
        ["growth_pct", "ticker", "trade_date"], ascending=[True, True, True]
    )
    parts = [part.head(n).assign(direction=name) for name, part in (("up", up), ("down", down))]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


def reconciliation(data_quality: pd.DataFrame, days: Iterable[date]) -> pd.DataFrame:
    """Per trade_date: 'pass' when no check failed, 'fail' with the failing checks' names, or
    'not finalised' when the day has no ops.data_quality rows; skipped checks are listed, not failed."""
    checks: dict[date, list[tuple[str, str]]] = {}
    # One pass over the rows, not one filter of the whole frame per day (a year is 252 days).
    for day, name, status in zip(
        data_quality["trade_date"], data_quality["check_name"], data_quality["status"], strict=True
    ):
        checks.setdefault(day, []).append((name, status))
    rows = [_day_status(day, sorted(checks.get(day, []))) for day in sorted(set(days) | set(checks))]
    return pd.DataFrame(rows, columns=["trade_date", "status", "failing", "skipped", "checks"])


def _day_status(day: date, checks: Sequence[tuple[str, str]]) -> dict[str, object]:
    failing = [name for name, status in checks if status not in _NOT_FAILING]
    skipped = [name for name, status in checks if status == "skipped"]
    return {
        "trade_date": day,
        "status": NOT_FINALISED if not checks else "fail" if failing else "pass",
        "failing": ", ".join(failing),
        "skipped": ", ".join(skipped),
        "checks": len(checks),
    }


def data_sources(daily_bars: pd.DataFrame) -> pd.DataFrame:
    """Where the range's daily bars came from: bars and tickers per source (yfinance, offline)."""
    grouped = daily_bars.groupby("source")
    frame = pd.DataFrame({"bars": grouped.size(), "tickers": grouped["ticker"].nunique()})
    return frame.rename_axis("source").reset_index().astype({"bars": "int64", "tickers": "int64"})


def freshness(frames: Mapping[str, pd.DataFrame], versions: Mapping[str, int | None]) -> pd.DataFrame:
    """Per gold table: rows in the range, their latest updated_at and the table's Delta version."""
    rows = [
        {
            "table": name,
            "rows": len(frames[name]),
            "updated_at": frames[name]["updated_at"].max() if len(frames[name]) else pd.NaT,
            "version": versions.get(name),
        }
        for name in versions
    ]
    return pd.DataFrame(rows, columns=["table", "rows", "updated_at", "version"])
