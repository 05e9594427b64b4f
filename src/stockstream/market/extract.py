"""`stockstream extract`: company profiles and daily bars into reference.dim_stock and
reference.daily_bars, merged on their grain (running it twice changes nothing)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.model import DailyBar, Stock
from stockstream.market.reference import load_universe, reference_profile
from stockstream.market.sources import MarketSource, OfflineSource, YFinanceSource, yahoo_reachable
from stockstream.pipeline.writes import merge_rows
from stockstream.tables import DAILY_BARS, DIM_STOCK, ensure, table

log = logging.getLogger(__name__)


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
    if stocks or bars:
        ensure(settings, (DIM_STOCK, DAILY_BARS))
    if not merge_dim_stock(settings, stocks) + merge_daily_bars(settings, bars):
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
    if stocks:
        ensure(settings, (DIM_STOCK,))
    if not merge_dim_stock(settings, stocks):
        log.info("reference.dim_stock already holds these %d profiles: nothing to write", len(stocks))
        return len(stocks)
    log.info("refreshed %d profiles from %s", len(stocks), source.name)
    return len(stocks)


def merge_dim_stock(settings: Settings, stocks: Sequence[Stock]) -> int:
    """Upsert profiles on ticker (delta-rs: 53 rows need no JVM); an unchanged profile is left
    untouched, and when none changed nothing is committed. Returns the profiles written."""
    rows = [asdict(stock) for stock in stocks]
    return merge_rows(
        table(DIM_STOCK).path(settings), rows, ["ticker"], "updated_at", what="merge reference.dim_stock"
    )


def merge_daily_bars(settings: Settings, bars: Sequence[DailyBar]) -> int:
    """Upsert bars on (ticker, trade_date): only the trade_date partitions whose bars changed are
    rewritten, and when none changed nothing is committed (so a re-run of a day already extracted,
    a cleared task or a backfill with --reprocess, starts no Spark and writes nothing). Returns the
    bars written."""
    rows = [asdict(bar) for bar in bars]
    return merge_rows(
        table(DAILY_BARS).path(settings),
        rows,
        ["ticker", "trade_date"],
        "extracted_at",
        partition="trade_date",
        what="merge reference.daily_bars",
    )
