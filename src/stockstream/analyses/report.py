"""Render the six analyses of a date range: six PNGs and report.html in one folder."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from matplotlib.figure import Figure

from stockstream.analyses import compute, plot
from stockstream.analyses.load import GOLD_TABLES, GoldData, Loader, load
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
)

log = logging.getLogger(__name__)

DPI = 100
REPORT_FILE = "report.html"


@dataclass(frozen=True)
class Chart:
    """One analysis: the gold table it reads, its compute (gold rows, the range's days -> frame) and
    plot functions, and its PNG's name."""

    number: int
    file: str
    title: str
    caption: str
    table: str
    compute: Callable[[pd.DataFrame, Sequence[date]], pd.DataFrame]
    plot: Callable[[pd.DataFrame, str], Figure]


CHARTS = (
    Chart(
        1,
        "1_industry_growth.png",
        "Daily industry growth",
        "Equal-weight mean growth (close - open) / open of each industry's stocks, per trading day.",
        INDUSTRY_DAILY,
        compute.industry_growth,
        plot.industry_growth_chart,
    ),
    Chart(
        2,
        "2_action_distribution.png",
        "Transaction type distribution",
        "Share of BUY and SELL in the number of trades and in the shares traded, per day and overall.",
        ACTION_DAILY,
        lambda frame, _days: compute.action_distribution(frame),
        plot.action_chart,
    ),
    Chart(
        3,
        "3_daily_volume.png",
        "Daily trading volume per stock",
        "Shares traded per stock and trading day (log colour scale).",
        STOCK_DAILY,
        compute.daily_volume,
        plot.volume_heatmap,
    ),
    Chart(
        4,
        "4_volume_ranking.png",
        "Highest average trading volume",
        "Mean shares traded per trading day over the range, ranked.",
        STOCK_DAILY,
        lambda frame, _days: compute.volume_ranking(frame),
        plot.volume_ranking_chart,
    ),
    Chart(
        5,
        "5_country_growth.png",
        "Growing companies by country",
        "Equal-weight mean growth of each country's stocks; growing / total stocks in each cell.",
        COUNTRY_DAILY,
        compute.country_growth,
        plot.country_growth_chart,
    ),
    Chart(
        6,
        "6_tech_growth.png",
        "Growing technologies market",
        "Equal-weight mean growth of the Technology sector's industries; growing / total stocks per cell.",
        TECH_DAILY,
        compute.tech_growth,
        plot.tech_growth_chart,
    ),
)
CHART_FILES = tuple(chart.file for chart in CHARTS)


@dataclass(frozen=True)
class RenderReport:
    """What one render wrote and what it found: files, days with and without gold rows, messages."""

    start: date
    end: date
    out: Path
    files: tuple[Path, ...]
    days_with_data: tuple[date, ...]
    missing_days: tuple[date, ...]
    messages: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """No gold rows at all in the range: report.html only, no charts."""
        return not self.days_with_data

    @property
    def html(self) -> Path:
        return self.out / REPORT_FILE


def render(settings: Settings, start: date, end: date, out: Path, *, loader: Loader = load) -> RenderReport:
    """Write the six charts and report.html for [start, end] into `out` (overwriting a previous
    render of the folder); an empty range writes the report with its message and no charts."""
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    gold = loader(settings, start, end)
    period = start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
    business = business_days(start, end)
    with_data = gold.days_with_data()
    missing = [day for day in business if day not in set(with_data)]
    messages = _coverage_messages(gold, period, business, with_data, missing)
    out.mkdir(parents=True, exist_ok=True)

    files: list[Path] = []
    drawn: dict[str, bool] = {}
    for chart in CHARTS:
        path = out / chart.file
        # Heatmaps get a column for every business day, so a missing day shows as a grey column.
        frame = chart.compute(gold[chart.table], business) if with_data else pd.DataFrame()
        if frame.empty:
            if with_data:
                messages.append(
                    f"Chart {chart.number} ({chart.title}): {chart.table} has no rows for {period}."
                )
            # A chart left over from an earlier render of this folder would contradict the report.
            path.unlink(missing_ok=True)
            drawn[chart.file] = False
            continue
        _save(chart.plot(frame, period), path)
        files.append(path)
        drawn[chart.file] = True

    html = report_html(
        gold, period, business=business, with_data=with_data, missing=missing, messages=messages, drawn=drawn
    )
    _write_text(out / REPORT_FILE, html)
    files.append(out / REPORT_FILE)
    for message in messages:
        log.warning("%s", message)
    log.info("rendered %s: %d chart(s) and %s into %s", period, len(files) - 1, REPORT_FILE, out)
    return RenderReport(
        start=start,
        end=end,
        out=out,
        files=tuple(files),
        days_with_data=tuple(with_data),
        missing_days=tuple(missing),
        messages=tuple(messages),
    )


def _coverage_messages(
    gold: GoldData, period: str, business: Sequence[date], with_data: Sequence[date], missing: Sequence[date]
) -> list[str]:
    """What the range lacks: all gold rows, some business days, or some days in some gold tables."""
    if not with_data:
        return [
            f"No gold rows for {period}: no charts were drawn. "
            "Has the range been extracted, replayed and processed by the stream?"
        ]
    messages = []
    if missing:
        days = ", ".join(day.isoformat() for day in missing)
        messages.append(
            f"No gold rows for {len(missing)} of {len(business)} business day(s): {days}. "
            f"The charts and the summary cover the {len(with_data)} day(s) with data."
        )
    for name in GOLD_TABLES:
        present = set(gold[name]["trade_date"])
        if not present:
            continue
        absent = [day for day in with_data if day not in present]
        if absent:
            days = ", ".join(day.isoformat() for day in absent)
            messages.append(f"{name} has no rows for {days} although other gold tables do.")
    return messages


def _save(figure: Figure, path: Path) -> None:
    """Write a figure as PNG with reproducible bytes (no software/time metadata), atomically."""
    partial = path.with_name(path.name + ".partial")
    with plot.style():
        figure.savefig(partial, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    # The figure was never registered with pyplot, so there is nothing to close: clearing it frees
    # its artists now rather than at the next garbage collection.
    figure.clear()
    os.replace(partial, path)


def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


# ---------------------------------------------------------------------------------------------
# report.html


def _pct(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1f}%"


def _timestamp(value: Any) -> str:
    return (
        "n/a" if pd.isna(value) else pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S UTC")
    )


def summary(gold: GoldData) -> dict[str, Any]:
    """The summary table's values: top movers up and down, the volume leader, BUY/SELL shares."""
    stock_daily = gold[STOCK_DAILY]
    movers = compute.top_movers(stock_daily)
    mover_rows = [
        {
            "direction": row.direction,
            "ticker": row.ticker,
            "day": row.trade_date.isoformat(),
            "growth": f"{row.growth_pct:+.2f}%",
            "industry": row.industry if isinstance(row.industry, str) else "",
            "country": row.country if isinstance(row.country, str) else "",
        }
        for row in movers.itertuples()
    ]
    ranking = compute.volume_ranking(stock_daily)
    leader = None
    if not ranking.empty:
        top = ranking.iloc[0]
        leader = {
            "ticker": top["ticker"],
            "mean": f"{top['mean_volume']:,.0f}",
            "days": int(top["days"]),
        }
    distribution = compute.action_distribution(gold[ACTION_DAILY])
    actions = None
    if not distribution.empty:
        overall = distribution[distribution["period"] == compute.OVERALL].iloc[0]
        actions = {
            action: {
                "trades": f"{overall[f'{action.lower()}_trades']:,}",
                "trades_pct": _pct(overall[f"{action.lower()}_trades_pct"]),
                "shares": f"{overall[f'{action.lower()}_shares']:,}",
                "shares_pct": _pct(overall[f"{action.lower()}_shares_pct"]),
            }
            for action in compute.ACTIONS
        }
    return {"movers": mover_rows, "leader": leader, "actions": actions}


def report_html(
    gold: GoldData,
    period: str,
    *,
    business: Sequence[date],
    with_data: Sequence[date],
    missing: Sequence[date],
    messages: Sequence[str],
    drawn: dict[str, bool],
) -> str:
    """The report page: messages, summary, the six charts, reconciliation, source and freshness."""
    days = sorted(set(business) | set(with_data))
    checks = compute.reconciliation(gold[DATA_QUALITY], days)
    fresh = compute.freshness(gold.frames, gold.versions)
    stock_fresh = fresh[fresh["table"] == STOCK_DAILY]
    as_of = _timestamp(stock_fresh["updated_at"].iloc[0]) if len(stock_fresh) else "n/a"
    context = {
        "period": period,
        "as_of": as_of,
        "business_days": len(business),
        "days_with_data": len(with_data),
        "missing": [day.isoformat() for day in missing],
        "empty": not with_data,
        "messages": list(messages),
        "summary": summary(gold) if with_data else None,
        "charts": [
            {
                "number": c.number,
                "file": c.file,
                "title": c.title,
                "caption": c.caption,
                "drawn": drawn.get(c.file),
            }
            for c in CHARTS
        ],
        "days": [
            {
                "day": row.trade_date.isoformat(),
                "weekday": f"{row.trade_date:%a}",
                "data": row.trade_date in set(with_data),
                "status": row.status,
                "failing": row.failing,
                "skipped": row.skipped,
                "checks": row.checks,
            }
            for row in checks.itertuples()
        ],
        "sources": [
            {"source": row.source, "bars": row.bars, "tickers": row.tickers}
            for row in compute.data_sources(gold[DAILY_BARS]).itertuples()
        ],
        "freshness": [
            {
                "table": row.table,
                "rows": row.rows,
                "updated_at": _timestamp(row.updated_at),
                "version": "table missing"
                if row.version is None or pd.isna(row.version)
                else int(row.version),
            }
            for row in fresh.itertuples()
        ],
    }
    return _TEMPLATE.render(**context)


# PNGs are referenced by relative path rather than embedded as base64: the six files are written
# anyway (they are the artefacts other tools pick up), the page stays small and diffable, and the
# folder as a whole is self-contained (copy or serve it as one unit).
_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>stockstream analyses, {{ period }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1250px; color: #222; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.message { background: #fff4d6; border-left: 4px solid #e9a23b; padding: 0.6rem 1rem; margin: 0.5rem 0; }
.pass { color: #1a7f37; font-weight: bold; } .fail { color: #c62828; font-weight: bold; }
.pending { color: #8a6d00; font-weight: bold; }
figure { margin: 1.5rem 0 2.5rem; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; margin-bottom: 0.5rem; }
</style>
</head>
<body>
<h1>stockstream analyses</h1>
<p class="sub">{{ period }} &middot;
{{ days_with_data }} day(s) with data of {{ business_days }} business day(s) &middot;
gold.stock_daily as of {{ as_of }}</p>

{% if empty %}
<p class="message"><strong>Empty range.</strong> There are no gold rows for {{ period }}.</p>
{% endif %}
{% for message in messages %}<p class="message">{{ message }}</p>
{% endfor %}

{% if summary %}
<h2>Summary</h2>
<table id="summary">
<tr><th>Volume leader</th><td>
{% if summary.leader %}{{ summary.leader.ticker }}: {{ summary.leader.mean }} shares per trading day
({{ summary.leader.days }} day(s)){% else %}n/a{% endif %}</td></tr>
{% if summary.actions %}{% for action, values in summary.actions.items() %}
<tr><th>{{ action }}</th><td>{{ values.trades_pct }} of trades ({{ values.trades }}),
{{ values.shares_pct }} of shares ({{ values.shares }})</td></tr>
{% endfor %}{% else %}<tr><th>BUY / SELL</th><td>n/a: no gold.action_daily rows</td></tr>{% endif %}
</table>
<h3>Top movers (stock-days by growth)</h3>
<table id="movers">
<tr><th></th><th>ticker</th><th>trade date</th><th>growth</th><th>industry</th><th>country</th></tr>
{% for row in summary.movers %}<tr><td>{{ "▲ up" if row.direction == "up" else "▼ down" }}</td>
<td>{{ row.ticker }}</td><td>{{ row.day }}</td><td class="num">{{ row.growth }}</td>
<td>{{ row.industry }}</td><td>{{ row.country }}</td></tr>
{% else %}<tr><td colspan="6">no stock moved</td></tr>{% endfor %}
</table>
{% endif %}

<h2>Charts</h2>
{% for chart in charts %}<figure id="chart-{{ chart.number }}">
<h3>{{ chart.number }}. {{ chart.title }}</h3>
<figcaption>{{ chart.caption }}</figcaption>
{% if chart.drawn %}<img src="{{ chart.file }}" alt="{{ chart.number }}. {{ chart.title }}, {{ period }}">
{% else %}<p class="message">Not drawn: no data for {{ period }}.</p>{% endif %}
</figure>
{% endfor %}

<h2>Reconciliation</h2>
<table id="reconciliation">
<tr><th>trade date</th><th>gold rows</th><th>status</th><th>failing checks</th><th>skipped checks</th>
<th>checks</th></tr>
{% for day in days %}<tr><td>{{ day.day }} {{ day.weekday }}</td><td>{{ "yes" if day.data else "none" }}</td>
<td class="{{ {"pass": "pass", "fail": "fail"}.get(day.status, "pending") }}">{{ day.status }}</td>
<td>{{ day.failing }}</td><td>{{ day.skipped }}</td><td class="num">{{ day.checks }}</td></tr>
{% endfor %}
</table>

<h2>Data source</h2>
<table id="sources">
<tr><th>reference.daily_bars.source</th><th>bars</th><th>tickers</th></tr>
{% for row in sources %}<tr><td>{{ row.source }}</td><td class="num">{{ row.bars }}</td>
<td class="num">{{ row.tickers }}</td></tr>
{% else %}<tr><td colspan="3">no reference.daily_bars rows for {{ period }}</td></tr>{% endfor %}
</table>

<h2>Freshness</h2>
<table id="freshness">
<tr><th>table</th><th>rows in range</th><th>latest updated_at in range</th><th>Delta version</th></tr>
{% for row in freshness %}<tr><td>{{ row.table }}</td><td class="num">{{ row.rows }}</td>
<td>{{ row.updated_at }}</td><td class="num">{{ row.version }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""
)
