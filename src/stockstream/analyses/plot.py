"""The six analyses' charts: computed frames -> matplotlib Figures.

Figures are built with `matplotlib.figure.Figure`, never through pyplot, so no global figure
registry or current-axes state exists to leak between charts (and no GUI backend is touched:
saving a bare Figure as PNG uses Agg). Seaborn styling is applied through `rc_context` for the
duration of one chart only.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from stockstream.analyses.compute import OVERALL

WIDTH = 12.0
"""Inches: every chart is this wide, unless a long range needs wider heatmap cells."""
MAX_WIDTH = 24.0
MIN_HEIGHT = 4.5
"""Inches: the shortest chart; taller ones grow with their rows."""
GROWTH_CMAP = "RdYlGn"
VOLUME_CMAP = "YlGnBu"
BUY_COLOUR = "#2a9d8f"
SELL_COLOUR = "#e76f51"
LEADER_COLOUR = "#e9a23b"
BAR_COLOUR = "#4c72b0"
NO_DATA_COLOUR = "#e6e6e6"
_LABEL_WIDTH = 3.6  # inches taken by row labels and the colour bar beside heatmap cells
_MIN_CELL = 0.75  # narrowest heatmap cell (inches) an annotation like "+12.34%" fits in
_TURNED = 0.2  # inches between two tick labels turned upright (one line of 9.9 pt text is ~0.17)
Period = Literal["day", "week", "month"]
_PERIOD_SIZE: dict[Period, int] = {"day": 1, "week": 5, "month": 21}
"""Trading days in a day, a week and a typical month: how far apart the labels of each period are."""
_BAR_WIDTH = 0.7  # of a day's slot
_OUTLINED = 0.1  # inches: narrower slots get bars without their white outline
_TOTAL_ROOM = 0.15  # inches a bar needs for its total above it, turned upright at 7.5 pt


@contextmanager
def style() -> Iterator[None]:
    """Seaborn's look for one chart, restored afterwards; draw and save inside it, since ticks and
    layout are resolved at draw time."""
    rc = {**sns.axes_style("white"), **sns.plotting_context("notebook", font_scale=0.9)}
    with mpl.rc_context(rc):
        yield


def human(value: float) -> str:
    """A count with three significant digits and a k/M/B suffix: 52345678 -> '52.3M'."""
    if not math.isfinite(value):
        return ""
    rounded = float(f"{abs(value):.3g}")
    sign = "-" if value < 0 else ""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if rounded >= div:
            return f"{sign}{rounded / div:.3g}{suffix}"
    return f"{sign}{rounded:.3g}"


def signed_pct(value: float) -> str:
    """A growth with its sign and two decimals: 0.4213 -> '+0.42%'; a value that rounds to zero
    has no sign."""
    text = f"{value:+.2f}%"
    return text[1:] if text[1:] == "0.00%" else text


def day_label(day: date) -> str:
    """A tick label for a trading day: ISO date over the weekday."""
    return f"{day.isoformat()}\n{day:%a}"


def _titled(title: str, period: str) -> str:
    return f"{title}, {period}" if period else title


def _day_labels(days: Sequence[date], room: float) -> tuple[list[str], int, float]:
    """Tick labels for trading days `room` inches apart, their rotation and the room they need: the
    ISO date over the weekday, then month-day over the weekday, then month-day turned upright."""
    if room >= 0.8:  # "2026-10-05" takes about 0.78 inch at the tick font size
        return [day_label(day) for day in days], 0, 0.8
    if room >= 0.5:
        return [f"{day:%m-%d}\n{day:%a}" for day in days], 0, 0.5
    return [f"{day:%a %m-%d}" for day in days], 90, _TURNED


def _period(day: date, every: Period) -> tuple[int, int]:
    if every == "week":
        year, week, _ = day.isocalendar()
        return year, week
    if every == "month":
        return day.year, day.month
    return day.toordinal(), 0


def period_starts(days: Sequence[date], every: Period) -> list[int]:
    """Positions in `days` (ascending) of the first trading day of each day, week or month."""
    periods = [_period(day, every) for day in days]
    return [i for i, period in enumerate(periods) if i == 0 or period != periods[i - 1]]


def spaced(positions: Sequence[float], gap: float) -> list[int]:
    """Indices of the ascending `positions` to keep so that no two kept ones are less than `gap`
    apart, chosen from the right: the last is always kept, and a range that starts mid-week loses
    that partial week's label rather than the next full week's."""
    kept: list[int] = []
    for i in reversed(range(len(positions))):
        if not kept or positions[kept[-1]] - positions[i] >= gap - 1e-9:
            kept.append(i)
    return kept[::-1]


@dataclass(frozen=True)
class DayTicks:
    """The labelled columns of a date axis with one column a trading day: positions (indices into
    its days), their labels and rotation, `every` ('day': every day is labelled, 'week' or 'month':
    the first trading day of each) and `gap`, the fewest columns two labels may be apart."""

    positions: tuple[int, ...]
    labels: tuple[str, ...]
    rotation: int
    every: Period
    gap: float


def day_ticks(days: Sequence[date], cell: float) -> DayTicks:
    """Labels for a date axis with one column of `cell` inches per trading day: every day when a
    turned label fits a column, else the first trading day of each week, else of each month (a
    year's axis labels 52 Mondays, not 252 overlapping days)."""
    fitting = (name for name, size in _PERIOD_SIZE.items() if size * cell >= _TURNED)
    every: Period = next(fitting, "month")
    starts = period_starts(days, every)
    labels, rotation, room = _day_labels([days[i] for i in starts], _PERIOD_SIZE[every] * cell)
    gap = room / cell
    kept = spaced(starts, gap)
    return DayTicks(
        positions=tuple(starts[i] for i in kept),
        labels=tuple(labels[i] for i in kept),
        rotation=rotation,
        every=every,
        gap=gap,
    )


def _ticks_note(ticks: DayTicks) -> str:
    return "" if ticks.every == "day" else f"labelled: first trading day of each {ticks.every}"


def _label_days(ax: Axes, days: Sequence[date], width: float) -> DayTicks:
    """Label a heatmap's columns (one a trading day, `width` inches in all with its row labels)."""
    ticks = day_ticks(days, (width - _LABEL_WIDTH) / max(len(days), 1))
    ax.set_xticks(np.array(ticks.positions) + 0.5, labels=list(ticks.labels), rotation=ticks.rotation)
    return ticks


def _heatmap_width(days: int) -> float:
    return min(max(WIDTH, _LABEL_WIDTH + _MIN_CELL * days), MAX_WIDTH)


def _fits(width: float, days: int) -> bool:
    return days > 0 and (width - _LABEL_WIDTH) / days >= _MIN_CELL


def _no_data_note(values: np.ndarray[Any, Any]) -> str:
    return "grey: no row for that day" if np.isnan(values).any() else ""


def _date_axis_label(*notes: str) -> str:
    text = "; ".join(note for note in notes if note)
    return f"trade date ({text})" if text else "trade date"


def growth_heatmap(
    grid: pd.DataFrame, title: str, group_label: str, period: str = "", counts: bool = False
) -> Figure:
    """A group x trade_date heatmap of growth (%) from a `compute.growth_grid` frame, on a
    diverging scale centred on 0; with `counts`, each cell also shows growing/total stocks."""
    growth = grid["growth_pct"]
    rows, days = growth.shape
    values = growth.to_numpy(dtype="float64")
    width = _heatmap_width(days)
    height = 2.2 + (0.62 if counts else 0.4) * rows
    limit = max(float(np.nanmax(np.abs(values))), 0.01)
    labels: np.ndarray[Any, Any] | bool = False
    if _fits(width, days):
        growing = grid["growing_stocks"].to_numpy(dtype="float64")
        stocks = grid["stocks"].to_numpy(dtype="float64")
        labels = np.array(
            [
                [
                    signed_pct(values[i, j]) + (f"\n{growing[i, j]:.0f}/{stocks[i, j]:.0f}" if counts else "")
                    if np.isfinite(values[i, j])
                    else ""
                    for j in range(days)
                ]
                for i in range(rows)
            ]
        )
    with style():
        figure = Figure(figsize=(width, max(MIN_HEIGHT, height)), layout="constrained")
        ax = figure.add_subplot()
        ax.set_facecolor(NO_DATA_COLOUR)
        sns.heatmap(
            growth,
            ax=ax,
            cmap=GROWTH_CMAP,
            center=0,
            vmin=-limit,
            vmax=limit,
            annot=labels,
            fmt="",
            annot_kws={"fontsize": 8.5},
            # The ticks are set below: seaborn's "auto" labels measure every label for overlaps
            # first, a quarter of a year's render.
            xticklabels=False,
            yticklabels=False,
            linewidths=0.8,
            linecolor="white",
            cbar_kws={"label": "growth (%)", "format": FuncFormatter(lambda v, _: f"{v:+.1f}%"), "pad": 0.02},
        )
        ticks = _label_days(ax, list(growth.columns), width)
        ax.set_yticks(np.arange(rows) + 0.5, labels=list(growth.index), rotation=0)
        cell = "cell: mean growth, growing / total stocks" if counts else ""
        ax.set_xlabel(_date_axis_label(cell, _ticks_note(ticks), _no_data_note(values)))
        ax.set_ylabel(group_label)
        ax.set_title(_titled(title, period), fontsize=13, fontweight="bold")
    return figure


def industry_growth_chart(grid: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 1: daily industry growth heatmap."""
    return growth_heatmap(grid, "Daily industry growth (equal-weight, %)", "industry", period)


def country_growth_chart(grid: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 5: growing companies by country, growth heatmap with growing/total counts."""
    return growth_heatmap(
        grid, "Growing companies by country (mean growth, %)", "country", period, counts=True
    )


def tech_growth_chart(grid: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 6: growth heatmap of the Technology sector's industries, with growing/total counts."""
    return growth_heatmap(
        grid, "Technology market growth by industry (%)", "Technology industry", period, counts=True
    )


def action_chart(distribution: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 2: BUY/SELL share (%) of trades and of shares per day and over all days, as 100%
    stacked bars with each period's total above its bar (on long ranges, the days' totals would
    overlap: only the overall bar's)."""
    periods = distribution["period"].tolist()
    count = len(periods)
    # Side by side panels hold about a week of bars; longer ranges get one full-width panel each.
    stacked = count > 7
    slot = (WIDTH - 1.5) / (count + 1) if stacked else (WIDTH / 2 - 1.0) / (count + 1)
    days = [date.fromisoformat(name) for name in periods if name != OVERALL]
    # The overall bar stands apart from the days.
    x = np.array([i + (0.6 if name == OVERALL else 0.0) for i, name in enumerate(periods)], dtype="float64")
    with style():
        figure = Figure(figsize=(WIDTH, 9.5 if stacked else 6.0), layout="constrained")
        axes: Sequence[Axes] = (
            figure.subplots(2, 1, sharex=True) if stacked else figure.subplots(1, 2, sharey=True)
        )
        for ax, measure in zip(axes, ("trades", "shares"), strict=True):
            _action_panel(ax, distribution, measure, x, slot)
        ticks = _label_action_days(axes, days, x, slot)
        for ax in axes[-1:] if stacked else axes:
            ax.set_xlabel(_date_axis_label(_ticks_note(ticks)))
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside upper right", ncols=2, frameon=False)
        figure.suptitle(
            _titled("Transaction type distribution: BUY vs SELL", period), fontsize=13, fontweight="bold"
        )
    return figure


def _action_panel(
    ax: Axes, distribution: pd.DataFrame, measure: str, x: np.ndarray[Any, Any], slot: float
) -> None:
    """One measure's stacked bars at `x`, `slot` inches apart: BUY and SELL %, totals above the
    bars that have room for them (the overall bar always), percentages inside wide bars."""
    buy = distribution[f"buy_{measure}_pct"].to_numpy(dtype="float64")
    sell = distribution[f"sell_{measure}_pct"].to_numpy(dtype="float64")
    totals = (distribution[f"buy_{measure}"] + distribution[f"sell_{measure}"]).to_numpy(dtype="float64")
    overall = (distribution["period"] == OVERALL).to_numpy()
    annotate = slot >= 0.42
    day_totals = slot >= _TOTAL_ROOM
    fontsize = 8.5 if slot >= 0.6 else 7.5
    # A 1 pt outline would cover most of a bar a few pixels wide, fading whole weeks.
    outlined = slot >= _OUTLINED
    _bars(ax, x, np.zeros_like(buy), buy, colour=BUY_COLOUR, label="BUY", outlined=outlined)
    _bars(ax, x, buy, buy + sell, colour=SELL_COLOUR, label="SELL", outlined=outlined)
    ax.axhline(50, color="dimgrey", linewidth=0.8, linestyle="--")
    for xi, b, s, total, whole in zip(x, buy, sell, totals, overall, strict=True):
        if day_totals or whole:
            rotation = 0 if annotate else 90
            ax.text(xi, 101.5, human(total), ha="center", va="bottom", fontsize=fontsize, rotation=rotation)
        if annotate and np.isfinite(b):
            for y, pct in ((b / 2, b), (b + s / 2, s)):
                ax.text(xi, y, f"{pct:.1f}%", ha="center", va="center", fontsize=fontsize, color="white")
    ax.set_ylim(0, 108 if annotate else 118)
    ax.set_yticks(range(0, 101, 25))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
    ax.set_ylabel(f"% of {measure}")
    above = "a bar" if day_totals else f"'{OVERALL}'"
    ax.set_title(f"{measure.capitalize()} by action (number above {above}: its total {measure})")


def bar_outlines(
    x: np.ndarray[Any, Any], bottom: np.ndarray[Any, Any], top: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """The corners of bars centred on `x` from `bottom` to `top`, _BAR_WIDTH wide, one (4, 2) array
    per bar with finite ends (a day without trades has no bar)."""
    finite = np.isfinite(bottom) & np.isfinite(top)
    left, right = x[finite] - _BAR_WIDTH / 2, x[finite] + _BAR_WIDTH / 2
    low, high = bottom[finite], top[finite]
    return np.stack(
        [np.column_stack(corner) for corner in ((left, low), (left, high), (right, high), (right, low))],
        axis=1,
    )


def _bars(
    ax: Axes,
    x: np.ndarray[Any, Any],
    bottom: np.ndarray[Any, Any],
    top: np.ndarray[Any, Any],
    *,
    colour: str,
    label: str,
    outlined: bool,
) -> None:
    """Bars as one collection, outlined in white as seaborn styles `Axes.bar`'s: a year's bars as
    single patches took longer to add and draw than the rest of the chart."""
    bars = PolyCollection(
        list(bar_outlines(x, bottom, top)),
        facecolors=colour,
        edgecolors="white" if outlined else "none",
        linewidths=1.0,
        label=label,
    )
    ax.add_collection(bars, autolim=True)
    ax.autoscale_view()


def _label_action_days(
    axes: Sequence[Axes], days: Sequence[date], x: np.ndarray[Any, Any], slot: float
) -> DayTicks:
    """Label the days' bars as a heatmap's columns, and the overall bar, dropping day labels that
    would touch it."""
    ticks = day_ticks(days, slot)
    positions = [*(float(x[i]) for i in ticks.positions), float(x[-1])]
    labels = [*ticks.labels, OVERALL]
    kept = spaced(positions, ticks.gap)
    for ax in axes:
        ax.set_xticks([positions[i] for i in kept], labels=[labels[i] for i in kept], rotation=ticks.rotation)
    return ticks


def volume_heatmap(grid: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 3: shares traded per ticker x trade_date, on a log colour scale so that tickers
    whose volumes differ by orders of magnitude all stay readable."""
    rows, days = grid.shape
    values = grid.to_numpy(dtype="float64")
    positive = values[np.isfinite(values) & (values > 0)]
    low = float(positive.min()) if positive.size else 1.0
    high = float(positive.max()) if positive.size else 10.0
    high = high if high > low else low * 10
    width = _heatmap_width(days)
    labels: np.ndarray[Any, Any] | bool = False
    if _fits(width, days):
        labels = np.array([[human(value) for value in row] for row in values])
    with style():
        figure = Figure(figsize=(width, max(MIN_HEIGHT, 2.2 + 0.3 * rows)), layout="constrained")
        ax = figure.add_subplot()
        ax.set_facecolor(NO_DATA_COLOUR)
        sns.heatmap(
            grid,
            ax=ax,
            cmap=VOLUME_CMAP,
            norm=LogNorm(vmin=low, vmax=high),
            annot=labels,
            fmt="",
            annot_kws={"fontsize": 8},
            xticklabels=False,  # set below, as in growth_heatmap
            yticklabels=False,
            linewidths=0.5,
            linecolor="white",
            cbar_kws={
                "label": "shares (log scale)",
                "format": FuncFormatter(lambda v, _: human(v)),
                "pad": 0.02,
            },
        )
        if high / low < 100:
            # Under two decades the log scale has one or two labelled ticks: label the others too.
            colorbar = ax.collections[0].colorbar
            if colorbar is not None:
                colorbar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: human(v)))
        ticks = _label_days(ax, list(grid.columns), width)
        ax.set_yticks(np.arange(rows) + 0.5, labels=list(grid.index), rotation=0, fontsize=9)
        ax.set_xlabel(_date_axis_label(_ticks_note(ticks), _no_data_note(values)))
        ax.set_ylabel("ticker")
        ax.set_title(
            _titled("Daily trading volume per stock (shares)", period), fontsize=13, fontweight="bold"
        )
    return figure


def volume_ranking_chart(ranking: pd.DataFrame, period: str = "") -> Figure:
    """Analysis 4: mean shares per trading day per ticker as ranked horizontal bars, the leader
    highlighted and named in the title."""
    count = len(ranking)
    means = ranking["mean_volume"].to_numpy(dtype="float64")
    leader = f"{ranking['ticker'].iloc[0]} ({human(float(means[0]))} shares/day)"
    with style():
        figure = Figure(figsize=(WIDTH, max(MIN_HEIGHT, 2.0 + 0.28 * count)), layout="constrained")
        ax = figure.add_subplot()
        y = np.arange(count)
        colours = [LEADER_COLOUR if rank == 1 else BAR_COLOUR for rank in ranking["rank"]]
        bars = ax.barh(y, means, color=colours, height=0.75)
        ax.bar_label(bars, labels=[human(value) for value in means], padding=3, fontsize=8.5)
        ax.set_yticks(
            y,
            labels=[
                f"{rank}. {ticker}" for rank, ticker in zip(ranking["rank"], ranking["ticker"], strict=True)
            ],
            fontsize=9,
        )
        ax.set_ylim(count - 0.5, -0.5)
        ax.margins(x=0.08)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: human(v)))
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.set_xlabel("mean shares per trading day")
        ax.set_ylabel("ticker (rank)")
        ax.set_title(
            _titled(
                f"Highest average trading volume: {leader}",
                period,
            ),
            fontsize=13,
            fontweight="bold",
        )
    return figure
