"""The dashboard's web layer: one self-contained HTML page and the JSON endpoints it polls.

Every endpoint answers 200 with a message when there is nothing to show yet, and 4xx with a
`detail` that says what was wrong when a parameter is; the data comes from `DashboardData`.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from importlib.resources import files
from typing import Annotated, Any

import pandas as pd
from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from stockstream.config import Settings
from stockstream.dashboard.data import MAX_RANGE_DAYS, DashboardData
from stockstream.tables import ALERTS, MINUTE_BARS, STOCK_DAILY

NO_GOLD = (
    "The gold tables have no trading day yet, so there is nothing to chart. Extract, replay and "
    "stream some days first (`make demo`, or `stockstream backfill --start D --end D`)."
)


def create_app(settings: Settings, data: DashboardData | None = None) -> FastAPI:
    """The dashboard of one stockstream instance (its settings' data root)."""
    source = data or DashboardData(settings)
    # No /docs: Swagger UI would load its scripts from a CDN, and the dashboard works offline.
    app = FastAPI(title="stockstream dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    page = _page(settings)

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "data_root": str(settings.data_root)}

    @app.get("/api/tickers")
    def tickers() -> dict[str, Any]:
        return {
            "tickers": [
                {"ticker": s.ticker, "name": s.name, "country": s.country, "currency": s.currency}
                for s in source.tickers()
            ],
            "default": source.default_ticker(),
        }

    @app.get("/api/price")
    def price(ticker: Annotated[str, Query(description="A ticker of /api/tickers.")]) -> dict[str, Any]:
        _known(source, ticker)
        live = source.price(ticker)
        if live is None:
            return {"ticker": ticker, "price": None, "message": _no_price(ticker)}
        return {
            "ticker": ticker,
            "currency": _currency(source, ticker),
            "trade_date": live.trade_date.isoformat(),
            "price": live.price,
            "as_of": _iso(live.as_of),
            "open": live.open,
            "high": live.high,
            "low": live.low,
            "change_pct": live.change_pct,
            "volume": live.volume,
            "trades": live.trades,
            "message": None,
        }

    @app.get("/api/bars")
    def bars(
        ticker: Annotated[str, Query(description="A ticker of /api/tickers.")],
        limit: Annotated[int, Query(ge=1, le=1440, description="The latest bars at most.")] = 120,
    ) -> dict[str, Any]:
        _known(source, ticker)
        day = source.day_bars(ticker)
        frame = day.frame.tail(limit)
        return {
            "ticker": ticker,
            "trade_date": day.trade_date.isoformat() if day.trade_date else None,
            "bars": [
                {
                    "start": _iso(row.window_start),
                    "open": float(row.open),
                    "high": float(row.high),
                    "low": float(row.low),
                    "close": float(row.close),
                    "volume": int(row.volume),
                    "trades": int(row.trades),
                }
                for row in frame.itertuples()
            ],
            "message": None if day.trade_date else _no_bars(ticker),
        }

    @app.get("/api/alerts")
    def alerts(limit: Annotated[int, Query(ge=1, le=500)] = 20) -> dict[str, Any]:
        frame = source.alerts(limit)
        rows = [
            {
                "alert_id": row.alert_id,
                "ticker": row.ticker,
                "pattern": row.pattern,
                "event_time": _iso(row.event_time),
                "detected_at": _iso(row.detected_at),
                "trade_date": _iso(row.trade_date),
                "evidence": _evidence(row.evidence),
                "baseline_volume": _float(row.baseline_volume),
                "observed_volume": _int(row.observed_volume),
                "run_length": _int(row.run_length),
            }
            for row in frame.itertuples()
        ]
        message = None if rows else f"No alerts yet: {ALERTS} has none in its latest trading days."
        return {"alerts": rows, "message": message}

    @app.get("/api/movers")
    def movers(
        n: Annotated[int, Query(ge=1, le=50, description="Risers and fallers shown.")] = 5,
    ) -> dict[str, Any]:
        found = source.movers(n)

        def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {
                    "ticker": row.ticker,
                    "growth_pct": _float(row.growth_pct),
                    "open": _float(row.open),
                    "close": _float(row.close),
                    "volume": _int(row.volume),
                    "currency": row.currency if isinstance(row.currency, str) else None,
                    "industry": row.industry if isinstance(row.industry, str) else None,
                    "country": row.country if isinstance(row.country, str) else None,
                }
                for row in frame.itertuples()
            ]

        message = None
        if found.trade_date is None:
            message = f"No movers yet: {STOCK_DAILY} has no trading day."
        elif found.up.empty and found.down.empty:
            message = f"No stock has moved on {found.trade_date}."
        return {
            "trade_date": found.trade_date.isoformat() if found.trade_date else None,
            "up": rows(found.up),
            "down": rows(found.down),
            "message": message,
        }

    @app.get("/api/stream")
    def stream() -> dict[str, Any]:
        health = source.stream()
        return {
            "state": health.state,
            "detail": health.detail,
            "lag": health.lag,
            "batch_id": health.batch_id,
            "batch_at": _iso(health.batch_at),
            "rows_per_second": health.rows_per_second,
            "input_rows": health.input_rows,
            "updated_at": _iso(health.updated_at),
        }

    @app.get("/api/analyses")
    def analyses(
        start: Annotated[str | None, Query(description="First trading day, YYYY-MM-DD.")] = None,
        end: Annotated[str | None, Query(description="Last trading day, YYYY-MM-DD, inclusive.")] = None,
    ) -> dict[str, Any]:
        first, last = _parse_day("start", start), _parse_day("end", end)
        if first is None or last is None:
            default = source.default_range()
            if default is None:
                return {
                    "start": None,
                    "end": None,
                    "key": None,
                    "days_with_data": [],
                    "charts": _undrawn(),
                    "messages": [NO_GOLD],
                }
            first, last = first or default[0], last or default[1]
        if first > last:
            raise HTTPException(400, f"start {first} is after end {last}: give start <= end")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise HTTPException(
                400, f"{first}..{last} is longer than {MAX_RANGE_DAYS} days: choose a shorter range"
            )
        charts = source.charts(first, last)
        return {
            "start": first.isoformat(),
            "end": last.isoformat(),
            "key": charts.key,
            "days_with_data": [day.isoformat() for day in charts.days_with_data],
            "charts": [
                {
                    "number": chart.number,
                    "title": chart.title,
                    "caption": chart.caption,
                    "url": f"/charts/{charts.key}/{chart.file}" if chart.png is not None else None,
                }
                for chart in charts.charts
            ],
            "messages": list(charts.messages),
        }

    @app.get("/charts/{key}/{file}")
    def chart(key: str, file: str) -> Response:
        png = source.chart_png(key, file)
        if png is None:
            raise HTTPException(
                404, f"no rendered chart {file} under {key}: reload the page to render it again"
            )
        # The key names the range and the tables' versions: the same URL is always the same image.
        return Response(
            png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400, immutable"}
        )

    return app


def _page(settings: Settings) -> str:
    template = files("stockstream.dashboard").joinpath("page.html").read_text(encoding="utf-8")
    config = {
        "refreshMs": int(settings.dashboard_refresh_seconds * 1000),
        "tables": {"bars": MINUTE_BARS, "alerts": ALERTS, "daily": STOCK_DAILY},
    }
    # Inside a <script> element: keep "</script>" out of the JSON.
    return template.replace("__CONFIG__", json.dumps(config).replace("<", "\\u003c"))


def _known(source: DashboardData, ticker: str) -> None:
    if not source.known(ticker):
        raise HTTPException(
            404, f"unknown ticker {ticker!r}: /api/tickers lists the tickers of the configured universe"
        )


def _currency(source: DashboardData, ticker: str) -> str | None:
    return next((s.currency for s in source.tickers() if s.ticker == ticker), None)


def _no_price(ticker: str) -> str:
    return (
        f"No trades for {ticker} yet: {STOCK_DAILY} has no row for it in its latest trading days "
        "(the stream writes one with the ticker's first trade of the day)."
    )


def _no_bars(ticker: str) -> str:
    return (
        f"No 1-minute bars for {ticker} yet: {MINUTE_BARS} has none in its latest trading days "
        "(a bar appears once the stream's watermark closes its minute)."
    )


def _undrawn() -> list[dict[str, Any]]:
    from stockstream.analyses.report import CHARTS

    return [{"number": c.number, "title": c.title, "caption": c.caption, "url": None} for c in CHARTS]


def _parse_day(name: str, value: str | None) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(400, f"{name} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-20") from None


def _iso(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return str(pd.Timestamp(value).isoformat())


def _float(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    number = float(value)  # Delta DECIMAL columns arrive as Decimal objects
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _evidence(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value
