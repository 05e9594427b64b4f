"""A range of days as one stream of transactions: each (ticker, day) bar in the lakehouse is
simulated inside its exchange's session, and all tickers are merged by event time."""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from stockstream import lake
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.model import BAR_COLUMNS, STOCK_COLUMNS, DailyBar, Stock
from stockstream.market.reference import session_for
from stockstream.market.simulator import needed_trades, scaled_volume, simulate_day, trade_count, validate_bar
from stockstream.market.transactions import Transaction
from stockstream.tables import DAILY_BARS, DIM_STOCK, table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DayPlan:
    """What a replay of [start, end] will send: the bars, their stocks, the source of the bars."""

    bars: list[DailyBar]
    stocks: dict[str, Stock]
    skipped: list[str]

    @property
    def days(self) -> list[date]:
        return sorted({bar.trade_date for bar in self.bars})

    @property
    def sources(self) -> set[str]:
        return {bar.source for bar in self.bars}


def load_plan(settings: Settings, start: date, end: date) -> DayPlan:
    """The bars of [start, end] and their profiles from the lakehouse (read with delta-rs: a
    replay starts no JVM); an error says to extract first when there are none."""
    hint = f"run `stockstream extract --start {start} --end {end}` first"
    if not (table(DAILY_BARS).exists(settings) and table(DIM_STOCK).exists(settings)):
        raise StockstreamError("the lakehouse has no reference data yet", hint)
    bar_rows = lake.read(
        settings,
        DAILY_BARS,
        columns=BAR_COLUMNS,
        where=[("trade_date", ">=", start), ("trade_date", "<=", end)],
    )
    if bar_rows.empty:
        raise StockstreamError(f"reference.daily_bars has no bars between {start} and {end}", hint)
    bars = [DailyBar.from_row(row) for row in bar_rows.itertuples(index=False)]
    profiles = lake.read(settings, DIM_STOCK, columns=STOCK_COLUMNS)
    stocks = {row["ticker"]: Stock(**row) for row in profiles.to_dict("records")}
    missing = sorted({bar.ticker for bar in bars} - set(stocks))
    if missing:
        raise StockstreamError(f"reference.dim_stock has no profile for {', '.join(missing)}", hint)
    usable, skipped = [], []
    for bar in sorted(bars, key=lambda b: (b.trade_date, b.ticker)):
        try:
            validate_bar(bar)
            if scaled_volume(bar, settings.sim_volume_scale) < needed_trades(bar):
                raise ValueError(f"{bar.ticker} {bar.trade_date}: volume too small to show the bar")
        except ValueError as exc:
            # Yahoo returns zero-volume bars for some holidays: say so, replay the rest.
            log.warning("not replaying %s", exc)
            skipped.append(str(exc))
            continue
        usable.append(bar)
    return DayPlan(bars=usable, stocks=stocks, skipped=skipped)


def transactions(plan: DayPlan, settings: Settings) -> Iterator[tuple[date, Transaction]]:
    """Every simulated trade of the plan with its trade date, in event-time order (ties keep
    ticker order, so the order is deterministic)."""
    per_bar = []
    for bar in plan.bars:
        stock = plan.stocks[bar.ticker]
        trades = simulate_day(
            bar,
            session_for(stock),
            stock.currency,
            trades=settings.sim_trades_per_day,
            volume_scale=settings.sim_volume_scale,
        )
        per_bar.append([(txn.timestamp, bar.ticker, i, bar.trade_date, txn) for i, txn in enumerate(trades)])
    for _, _, _, trade_date, txn in heapq.merge(*per_bar):
        yield trade_date, txn


def count_transactions(plan: DayPlan, settings: Settings) -> int:
    """How many trades the plan sends (for a progress bar), without building them twice."""
    return sum(trade_count(bar, settings.sim_trades_per_day, settings.sim_volume_scale) for bar in plan.bars)
