"""`stockstream extract`: company profiles and daily bars into reference.dim_stock and
reference.daily_bars, merged on their grain (running it twice changes nothing)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from stockstream import lake
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.model import DailyBar, Stock
from stockstream.market.reference import load_universe, reference_profile
from stockstream.market.sources import MarketSource, OfflineSource, YFinanceSource, yahoo_reachable
from stockstream.pipeline.writes import merge_rows
from stockstream.tables import DAILY_BARS, DIM_STOCK, ensure, table

log = logging.getLogger(__name__)

DIM_STOCK_SCHEMA = (
    "ticker STRING, name STRING, sector STRING, industry STRING, country STRING, currency STRING, "
    "exchange STRING, exchange_timezone STRING"
)
DAILY_BARS_SCHEMA = (
    "ticker STRING, trade_date DATE, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, "
    "volume BIGINT, source STRING"
)


@dataclass(frozen=True)
class ExtractReport:
    """What one extract wrote."""

    source: str
    stocks: int
    bars: int
    days: int


def choose_source(settings: Settings, kind: str | None = None) -> MarketSource:
    """The source named by `kind` (or the setting); auto tries Yahoo briefly and falls back to
    the offline generator with a warning."""
    kind = kind or settings.source
    universe = load_universe(settings.universe_file)
    if kind == "auto":
        if yahoo_reachable():
            kind = "yfinance"
        else:
            log.warning("Yahoo Finance is not reachable: using the offline generator (--source offline)")
            kind = "offline"
    if kind == "offline":
        profiles = {s.ticker: reference_profile(s.ticker, settings.universe_file) for s in universe}
        return OfflineSource(universe, profiles)
    if kind == "yfinance":
        return YFinanceSource(fallback_profiles={s.ticker: s for s in universe})
    raise StockstreamError(f"unknown source {kind!r}", "use auto, yfinance or offline")


def extract(
    settings: Settings,
    start: date,
    end: date,
    source: MarketSource | None = None,
    tickers: Sequence[str] | None = None,
) -> ExtractReport:
    """Profiles and bars of [start, end] for the universe (or `tickers`), merged into the lakehouse."""
    if end < start:
        raise StockstreamError(f"the range ends ({end}) before it starts ({start})", "swap --start and --end")
    source = source or choose_source(settings)
    symbols = list(tickers) if tickers else [stock.ticker for stock in load_universe(settings.universe_file)]
    stocks = source.profiles(symbols)
    bars = source.daily_bars(symbols, start, end)
    new_stocks = not holds(settings, DIM_STOCK, _stock_rows(stocks), DIM_STOCK_SCHEMA, ["ticker"])
    new_bars = not holds(
        settings,
        DAILY_BARS,
        _bar_rows(bars),
        DAILY_BARS_SCHEMA,
        ["ticker", "trade_date"],
        where=[("trade_date", ">=", start), ("trade_date", "<=", end)],
    )
    if new_stocks or new_bars:
        ensure(settings, (DIM_STOCK, DAILY_BARS))
        if new_stocks:
            merge_dim_stock(settings, stocks)
        if new_bars:
            merge_daily_bars(settings, bars)
    else:
        log.info("the lakehouse already holds these profiles and bars: nothing to write")
    report = ExtractReport(
        source=source.name, stocks=len(stocks), bars=len(bars), days=len({bar.trade_date for bar in bars})
    )
    log.info("extracted %s", report)
    return report


def refresh_profiles(settings: Settings, source: MarketSource | None = None) -> int:
    """Company profiles of the universe into reference.dim_stock (the weekly refresh); returns
    the number of stocks."""
    source = source or choose_source(settings)
    stocks = source.profiles([stock.ticker for stock in load_universe(settings.universe_file)])
    if holds(settings, DIM_STOCK, _stock_rows(stocks), DIM_STOCK_SCHEMA, ["ticker"]):
        log.info("reference.dim_stock already holds these %d profiles: nothing to write", len(stocks))
        return len(stocks)
    ensure(settings, (DIM_STOCK,))
    merge_dim_stock(settings, stocks)
    log.info("refreshed %d profiles from %s", len(stocks), source.name)
    return len(stocks)


def _stock_rows(stocks: Sequence[Stock]) -> list[tuple[object, ...]]:
    return [
        (s.ticker, s.name, s.sector, s.industry, s.country, s.currency, s.exchange, s.exchange_timezone)
        for s in stocks
    ]


def _bar_rows(bars: Sequence[DailyBar]) -> list[tuple[object, ...]]:
    return [(b.ticker, b.trade_date, b.open, b.high, b.low, b.close, b.volume, b.source) for b in bars]


def holds(
    settings: Settings,
    name: str,
    rows: Sequence[tuple[object, ...]],
    schema: str,
    keys: list[str],
    *,
    where: Sequence[lake.Filter] = (),
) -> bool:
    """Whether table `name` already has every one of `rows` (columns as in `schema`) with equal
    values, so merge_rows would change nothing. Read without a JVM: a re-run of a day that is
    already extracted (a cleared task, a backfill with --reprocess) starts no Spark at all."""
    columns = [field.split()[0] for field in schema.split(", ")]
    if not rows or not table(name).exists(settings):
        return not rows
    stored = lake.read(settings, name, columns=columns, where=where)
    wanted = pd.DataFrame(list(rows), columns=columns)
    joined = wanted.merge(stored, on=keys, how="left", suffixes=("", "_stored"), indicator=True)
    if len(joined) != len(wanted) or (joined["_merge"] != "both").any():
        return False
    values = [c for c in columns if c not in keys]
    # Null-safe equality, as SQL's `<=>`.
    return all(
        ((joined[c] == joined[f"{c}_stored"]) | (joined[c].isna() & joined[f"{c}_stored"].isna())).all()
        for c in values
    )


def merge_dim_stock(settings: Settings, stocks: Sequence[Stock]) -> None:
    """Upsert profiles on ticker; an unchanged profile is left untouched (delta-rs: 53 rows need
    no JVM; a changed one rewrites the table's few rows)."""
    columns = [field.split()[0] for field in DIM_STOCK_SCHEMA.split(", ")]
    rows = [dict(zip(columns, row, strict=True)) for row in _stock_rows(stocks)]
    merge_rows(
        table(DIM_STOCK).path(settings), rows, ["ticker"], "updated_at", what="merge reference.dim_stock"
    )


def merge_daily_bars(settings: Settings, bars: Sequence[DailyBar]) -> None:
    """Upsert bars on (ticker, trade_date): only the trade_date partitions whose bars changed are
    rewritten."""
    columns = [field.split()[0] for field in DAILY_BARS_SCHEMA.split(", ")]
    rows = [dict(zip(columns, row, strict=True)) for row in _bar_rows(bars)]
    merge_rows(
        table(DAILY_BARS).path(settings),
        rows,
        ["ticker", "trade_date"],
        "extracted_at",
        partition="trade_date",
        what="merge reference.daily_bars",
    )
