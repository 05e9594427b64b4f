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
from datetime import date
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
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


def _day_labels(days: Sequence[date], cell: float) -> tuple[list[str], int]:
    """Tick labels for trading days that fit `cell` inches each, and their rotation: the ISO date
    over the weekday, then month-day over the weekday, then month-day turned upright."""
    if cell >= 0.8:  # "2026-10-05" takes about 0.78 inch at the tick font size
        return [day_label(day) for day in days], 0
    if cell >= 0.5:
        return [f"{day:%m-%d}\n{day:%a}" for day in days], 0
    return [f"{day:%a %m-%d}" for day in days], 90


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
        ticks, rotation = _day_labels(list(growth.columns), (width - _LABEL_WIDTH) / max(days, 1))
        ax.set_xticks(np.arange(days) + 0.5, labels=ticks, rotation=rotation)
        ax.set_yticks(np.arange(rows) + 0.5, labels=list(growth.index), rotation=0)
        cell = "cell: mean growth, growing / total stocks" if counts else ""
        ax.set_xlabel(_date_axis_label(cell, _no_data_note(values)))
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
    stacked bars with each period's total above its bar."""
    periods = distribution["period"].tolist()
    count = len(periods)
    # Side by side panels hold about a week of bars; longer ranges get one full-width panel each.
    stacked = count > 7
    slot = (WIDTH - 1.5) / (count + 1) if stacked else (WIDTH / 2 - 1.0) / (count + 1)
    days = [date.fromisoformat(name) for name in periods if name != OVERALL]
    labels, rotation = _day_labels(days, slot)
    labels.append("All days")
    annotate = slot >= 0.42
    fontsize = 8.5 if slot >= 0.6 else 7.5
    # The overall bar stands apart from the days.
    x = np.array([i + (0.6 if name == OVERALL else 0.0) for i, name in enumerate(periods)], dtype="float64")
    with style():
        figure = Figure(figsize=(WIDTH, 9.5 if stacked else 6.0), layout="constrained")
        axes: Sequence[Axes] = (
            figure.subplots(2, 1, sharex=True) if stacked else figure.subplots(1, 2, sharey=True)
        )
        for ax, measure in zip(axes, ("trades", "shares"), strict=True):
            buy = distribution[f"buy_{measure}_pct"].to_numpy(dtype="float64")
            sell = distribution[f"sell_{measure}_pct"].to_numpy(dtype="float64")
            totals = (distribution[f"buy_{measure}"] + distribution[f"sell_{measure}"]).to_numpy(
                dtype="float64"
            )
            ax.bar(x, buy, width=0.7, color=BUY_COLOUR, label="BUY")
            ax.bar(x, sell, width=0.7, bottom=buy, color=SELL_COLOUR, label="SELL")
            ax.axhline(50, color="dimgrey", linewidth=0.8, linestyle="--")
            for xi, b, s, total in zip(x, buy, sell, totals, strict=True):
                ax.text(
                    xi,
                    101.5,
                    human(total),
                    ha="center",
                    va="bottom",
                    fontsize=fontsize,
                    rotation=0 if annotate else 90,
                )
                if annotate and np.isfinite(b):
                    for y, pct in ((b / 2, b), (b + s / 2, s)):
                        ax.text(
                            xi, y, f"{pct:.1f}%", ha="center", va="center", fontsize=fontsize, color="white"
                        )
            ax.set_xticks(x, labels=labels, rotation=rotation)
            ax.set_ylim(0, 108 if annotate else 118)
            ax.set_yticks(range(0, 101, 25))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}%"))
            ax.set_ylabel(f"% of {measure}")
            ax.set_title(f"{measure.capitalize()} by action (number above a bar: its total {measure})")
        axes[-1].set_xlabel("trade date")
        if not stacked:
            axes[0].set_xlabel("trade date")
        handles, names = axes[0].get_legend_handles_labels()
        figure.legend(handles, names, loc="outside upper right", ncols=2, frameon=False)
        figure.suptitle(
            _titled("Transaction type distribution: BUY vs SELL", period), fontsize=13, fontweight="bold"
        )
    return figure


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
        ticks, rotation = _day_labels(list(grid.columns), (width - _LABEL_WIDTH) / max(days, 1))
        ax.set_xticks(np.arange(days) + 0.5, labels=ticks, rotation=rotation)
        ax.set_yticks(np.arange(rows) + 0.5, labels=list(grid.index), rotation=0, fontsize=9)
        ax.set_xlabel(_date_axis_label(_no_data_note(values)))
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
