"""The live market of `stockstream simulate --live`: trades stamped with the current time, from a
geometric random walk per ticker that starts at the ticker's last close, published to the topic
continuously so the dashboard moves in real time.

- Start prices: each ticker's latest bar before today (its exchange's today) in
  reference.daily_bars. Where the table or a ticker's bar is missing, the offline generator's bar of
  the previous weekday is used instead, and a warning says so.
- Only tickers whose exchange session is open now trade (`Session.is_open`), unless `always_open`.
- The walk moves with time, not with trades: a ticker traded k times in a tick, dt seconds after
  its previous trade, moves its log price by N(0, volatility^2 * dt / k) per trade, so prices move at
  the same speed whatever the rate and however many tickers share it. A ticker's first trade of the
  run, and its first after its session reopens, is at its last price (the start price at first).
- Prices are rounded to the tick the replay uses (`price_decimals`), trade sizes are lognormal
  around the replay's mean trade size (last bar's volume x volume scale / trades per day), and
  BUY/SELL leans with each trade's move as in the day simulator (`buy_probability`).
- txn_ids are digests of ("live", the run's id, ticker, instant, sequence): unique within a run,
  different between runs, and never equal to a replayed trade's id (a digest of ticker, instant,
  sequence only).

Live records are not a replay of a day: nothing is written to ops.replay_manifest, so
`stockstream wait --date D`, the market_day DAG and the day's reconciliation know nothing of them;
the stream processes them like any other record.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from kafka.errors import KafkaError

from stockstream import lake
from stockstream.broker.replay import producer
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.model import BAR_COLUMNS, DailyBar, Stock
from stockstream.market.reference import UNIVERSE_CSV, load_universe, reference_profile, session_for
from stockstream.market.simulator import SIZE_SIGMA, buy_probability, price_decimals
from stockstream.market.sources import OfflineSource, business_days
from stockstream.market.transactions import ACTIONS, Transaction, iso_utc
from stockstream.signals import sigterm_raises
from stockstream.tables import DAILY_BARS, DIM_STOCK, table

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Now, as an aware datetime: `utc_now` for real, a fake in tests."""

TICK_SECONDS = 0.5
"""How often a batch is published: small enough for a smooth chart, large enough to batch."""
PROGRESS_SECONDS = 5.0


def utc_now() -> datetime:
    """The system clock in UTC."""
    return datetime.now(UTC)


def live_txn_id(run_id: str, ticker: str, timestamp: datetime, seq: int) -> str:
    """The id of the seq-th trade of a live run: a digest of a key that a replayed trade's id
    (`transactions.txn_id`: ticker, instant, sequence) never has."""
    key = f"live|{run_id}|{ticker}|{iso_utc(timestamp)}|{seq}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------------------------------
# Which stocks, which of them trade now


def select_stocks(universe: Sequence[Stock], wanted: Sequence[str] | None, source: str) -> list[Stock]:
    """The universe's stocks named in `wanted` (case-insensitive), in universe order; every stock
    when `wanted` is None. An unknown name is an error listing the valid ones."""
    if wanted is None:
        return list(universe)
    by_name = {stock.ticker.upper(): stock for stock in universe}
    names = [name.strip() for name in wanted if name.strip()]
    if not names:
        raise StockstreamError(
            "--tickers names no ticker",
            "give a comma-separated list such as --tickers AAPL,7203.T, or leave it out for every ticker",
        )
    unknown = [name for name in names if name.upper() not in by_name]
    if unknown:
        raise StockstreamError(
            f"not in the ticker universe ({source}): {', '.join(unknown)}",
            f"use tickers of the universe: {', '.join(stock.ticker for stock in universe)}; "
            "STOCKSTREAM_UNIVERSE_FILE points at another universe file",
        )
    chosen = {by_name[name.upper()].ticker for name in names}
    return [stock for stock in universe if stock.ticker in chosen]


def open_now(stocks: Sequence[Stock], now: datetime) -> list[Stock]:
    """The stocks whose exchange session is open at `now`."""
    return [stock for stock in stocks if session_for(stock).is_open(now)]


def next_opens(stocks: Sequence[Stock], now: datetime) -> list[tuple[str, str, datetime]]:
    """(exchange, timezone, next open in UTC) of each exchange of the stocks, soonest first."""
    opens: dict[tuple[str, str], datetime] = {}
    for stock in stocks:
        session = session_for(stock)
        opens[(stock.exchange, session.timezone)] = session.next_open(now)
    return sorted(((exchange, zone, at) for (exchange, zone), at in opens.items()), key=lambda x: x[2])


def require_open(stocks: Sequence[Stock], now: datetime) -> None:
    """Fail, naming the exchanges that open next and when, when no stock's exchange is open now."""
    if open_now(stocks, now):
        return
    upcoming = next_opens(stocks, now)[:3]
    listed = "; ".join(
        f"{exchange} ({zone}) at {at:%a %Y-%m-%d %H:%M} UTC, in {_span(at - now)}"
        for exchange, zone, at in upcoming
    )
    raise StockstreamError(
        f"no exchange of the chosen tickers is open now ({now.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC); "
        f"next to open: {listed}",
        "run it again then, or add --always-open to trade every ticker around the clock",
    )


def _span(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m"


# ---------------------------------------------------------------------------------------------
# Start prices


def local_today(stock: Stock, now: datetime) -> date:
    """The date at `now` on the stock's exchange."""
    return now.astimezone(ZoneInfo(session_for(stock).timezone)).date()


def previous_weekday(day: date) -> date:
    """The last Monday-to-Friday before `day`."""
    return business_days(day - timedelta(days=7), day - timedelta(days=1))[-1]


def latest_before(frame: pd.DataFrame, todays: dict[str, date]) -> dict[str, DailyBar]:
    """Per ticker of `todays`, its usable bar (close > 0, volume > 0) with the latest trade_date
    before that ticker's today; rows of other tickers are ignored."""
    if frame.empty:
        return {}
    rows = frame.assign(trade_date=pd.to_datetime(frame["trade_date"]).dt.date).sort_values("trade_date")
    found: dict[str, DailyBar] = {}
    for row in rows.itertuples(index=False):
        ticker = str(row.ticker)
        today = todays.get(ticker)
        if today is None or not row.trade_date < today:
            continue
        if not (math.isfinite(row.close) and row.close > 0 and row.volume > 0):
            continue
        found[ticker] = DailyBar.from_row(row)
    return found


def offline_bars(settings: Settings, stocks: Sequence[Stock], todays: dict[str, date]) -> dict[str, DailyBar]:
    """The offline generator's bar of each stock's previous weekday."""
    universe = load_universe(settings.universe_file)
    profiles = {stock.ticker: reference_profile(stock.ticker, settings.universe_file) for stock in universe}
    source = OfflineSource(universe, profiles)
    by_day: dict[date, list[str]] = {}
    for stock in stocks:
        by_day.setdefault(previous_weekday(todays[stock.ticker]), []).append(stock.ticker)
    return {
        bar.ticker: bar for day, tickers in by_day.items() for bar in source.daily_bars(tickers, day, day)
    }


def start_bars(settings: Settings, stocks: Sequence[Stock], now: datetime) -> dict[str, DailyBar]:
    """Each stock's last bar before today on its exchange: from reference.daily_bars, else the
    offline generator's bar of the previous weekday (a warning names the stocks)."""
    todays = {stock.ticker: local_today(stock, now) for stock in stocks}
    found: dict[str, DailyBar] = {}
    if table(DAILY_BARS).exists(settings):
        frame = lake.read(
            settings,
            DAILY_BARS,
            columns=BAR_COLUMNS,
            where=[("ticker", "in", sorted(todays)), ("trade_date", "<", max(todays.values()))],
        )
        found = latest_before(frame, todays)
        missing = [stock.ticker for stock in stocks if stock.ticker not in found]
        if missing:
            log.warning(
                "reference.daily_bars has no bar before today for %s: starting %s from the offline "
                "generator's close of the previous weekday",
                ", ".join(missing),
                "it" if len(missing) == 1 else "them",
            )
    else:
        log.warning(
            "reference.daily_bars does not exist yet: every ticker starts from the offline generator's "
            "close of the previous weekday (`stockstream extract` loads real last closes)"
        )
    rest = [stock for stock in stocks if stock.ticker not in found]
    return {**found, **offline_bars(settings, rest, todays)} if rest else found


# ---------------------------------------------------------------------------------------------
# The market


class LiveMarket:
    """Current-time trades of a geometric random walk per ticker (see the module docstring)."""

    def __init__(
        self,
        stocks: Sequence[Stock],
        start: dict[str, DailyBar],
        *,
        clock: Clock = utc_now,
        seed: int | None = None,
        always_open: bool = False,
        volatility: float = 0.0003,
        trades_per_day: int = 400,
        volume_scale: float = 1.0,
    ) -> None:
        if not stocks:
            raise ValueError("a live market needs at least one stock")
        missing = [stock.ticker for stock in stocks if stock.ticker not in start]
        if missing:
            raise ValueError(f"no start bar for {', '.join(missing)}")
        if not (math.isfinite(volatility) and volatility > 0):
            raise ValueError(f"volatility must be a finite number > 0, got {volatility!r}")
        self.stocks = list(stocks)
        self.start = {stock.ticker: start[stock.ticker] for stock in stocks}
        self.clock = clock
        self.always_open = always_open
        self.volatility = volatility
        self._rng = np.random.default_rng(seed)
        # Drawn from the seeded stream: a seeded run is reproducible, txn_ids included.
        self.run_id = f"{int(self._rng.integers(2**63)):016x}"
        self._sessions = {stock.ticker: session_for(stock) for stock in stocks}
        self._currency = {stock.ticker: stock.currency for stock in stocks}
        self._log_price = {ticker: math.log(bar.close) for ticker, bar in self.start.items()}
        self._mean_size = {
            ticker: max(1.0, bar.volume * volume_scale / trades_per_day) for ticker, bar in self.start.items()
        }
        # When each ticker last traded in its current session (None: not yet, or its session closed).
        self._moved_at: dict[str, datetime | None] = dict.fromkeys(self.start)
        self._seq = 0

    def now(self) -> datetime:
        """The clock's now in UTC at millisecond resolution (the contract's timestamp precision)."""
        instant = self.clock()
        if instant.tzinfo is None:
            raise ValueError(f"the clock must return an aware datetime, got {instant!r}")
        instant = instant.astimezone(UTC)
        return instant.replace(microsecond=instant.microsecond // 1000 * 1000)

    def open_tickers(self, now: datetime) -> list[str]:
        """The tickers that trade at `now`, in universe order."""
        return [
            stock.ticker
            for stock in self.stocks
            if self.always_open or self._sessions[stock.ticker].is_open(now)
        ]

    def price(self, ticker: str) -> float:
        """The ticker's current price, rounded to the replay's price tick."""
        value = math.exp(self._log_price[ticker])
        return round(value, price_decimals(value))

    def prices(self) -> dict[str, float]:
        """Every ticker's current price."""
        return {stock.ticker: self.price(stock.ticker) for stock in self.stocks}

    def trade(self, count: int) -> list[Transaction]:
        """`count` trades at the clock's now, spread at random over the open tickers (none
        when no ticker's exchange is open)."""
        now = self.now()
        tickers = self.open_tickers(now)
        trading = set(tickers)
        for ticker in self._moved_at:
            if ticker not in trading:
                self._moved_at[ticker] = None  # no walk while closed: it resumes at its last price
        if count <= 0 or not tickers:
            return []
        picks = self._rng.integers(len(tickers), size=count)
        trades_of = np.bincount(picks, minlength=len(tickers))
        elapsed = np.array([self._seconds_since_move(ticker, now) for ticker in tickers])
        sigma = self.volatility * np.sqrt(elapsed[picks] / trades_of[picks])
        moves = self._rng.standard_normal(count)
        # The move in units of its own volatility is the draw itself; a tick with no time has none.
        buys = self._rng.random(count) < buy_probability(np.where(sigma > 0, moves, 0.0))
        sizes = self._rng.lognormal(-(SIZE_SIGMA**2) / 2, SIZE_SIGMA, count)  # mean 1
        buy, sell = ACTIONS
        out: list[Transaction] = []
        for pick, step, is_buy, size in zip(
            picks.tolist(), (sigma * moves).tolist(), buys.tolist(), sizes.tolist(), strict=True
        ):
            ticker = tickers[pick]
            self._log_price[ticker] += step
            out.append(
                Transaction(
                    txn_id=live_txn_id(self.run_id, ticker, now, self._seq),
                    ticker=ticker,
                    timestamp=now,
                    price=self.price(ticker),
                    volume=max(1, round(self._mean_size[ticker] * size)),
                    action=buy if is_buy else sell,
                    currency=self._currency[ticker],
                )
            )
            self._seq += 1
        for ticker, traded in zip(tickers, trades_of.tolist(), strict=True):
            if traded:
                self._moved_at[ticker] = now
        return out

    def _seconds_since_move(self, ticker: str, now: datetime) -> float:
        moved_at = self._moved_at[ticker]
        return 0.0 if moved_at is None else max(0.0, (now - moved_at).total_seconds())


def open_market(
    settings: Settings,
    tickers: Sequence[str] | None = None,
    *,
    always_open: bool = False,
    seed: int | None = None,
    clock: Clock = utc_now,
) -> LiveMarket:
    """The live market of the universe (or the named tickers), started at their last closes; an
    error naming the next opens when no chosen exchange is open and not `always_open`."""
    universe = load_universe(settings.universe_file)
    stocks = select_stocks(universe, tickers, str(settings.universe_file or UNIVERSE_CSV))
    now = clock()
    if not always_open:
        require_open(stocks, now)
    if not table(DIM_STOCK).exists(settings):
        log.warning(
            "reference.dim_stock does not exist yet: silver quarantines every live record as "
            "unknown_ticker until `stockstream extract --start D --end D` has run"
        )
    return LiveMarket(
        stocks,
        start_bars(settings, stocks, now),
        clock=clock,
        seed=seed,
        always_open=always_open,
        volatility=settings.live_volatility,
        trades_per_day=settings.sim_trades_per_day,
        volume_scale=settings.sim_volume_scale,
    )


# ---------------------------------------------------------------------------------------------
# Publishing


@dataclass
class Pacer:
    """How many trades a tick sends so that `rate` per second holds over the whole run: what is
    due by the tick's scheduled time less what was issued before (no drift, no rounding loss)."""

    rate: float
    issued: int = 0

    def due(self, elapsed: float) -> int:
        """The trades to send at `elapsed` seconds into the run."""
        # The epsilon keeps e.g. 3 x 0.1 s from flooring to 0 when it is meant to be 0.3.
        count = max(0, math.floor(self.rate * elapsed + 1e-9) - self.issued)
        self.issued += count
        return count


@dataclass
class LiveReport:
    """What a live run published: records queued and acknowledged, per ticker, the event-time
    span, how long it ran, and whether Ctrl-C ended it."""

    topic: str
    queued: int = 0
    sent: int = 0
    per_ticker: dict[str, int] = field(default_factory=dict)
    first_event: datetime | None = None
    last_event: datetime | None = None
    seconds: float = 0.0
    idle_ticks: int = 0
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Acknowledged records per second."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def add(self, batch: Sequence[Transaction]) -> None:
        for txn in batch:
            self.per_ticker[txn.ticker] = self.per_ticker.get(txn.ticker, 0) + 1
        if batch:
            self.first_event = self.first_event or batch[0].timestamp
            self.last_event = batch[-1].timestamp
        self.queued += len(batch)

    def acknowledged(self, _: object) -> None:
        self.sent += 1


def run_live(
    settings: Settings,
    market: LiveMarket,
    *,
    rate: float = 20.0,
    duration: float | None = None,
    tick_seconds: float = TICK_SECONDS,
    progress_seconds: float = PROGRESS_SECONDS,
    on_progress: Callable[[LiveReport], None] | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LiveReport:
    """Publish the market's trades (key = ticker) at `rate` per second in ticks of `tick_seconds`
    for `duration` seconds (None: until Ctrl-C), then wait until every record is acknowledged.
    Ctrl-C stops sending, flushes and returns a report marked interrupted. The topic must exist
    (`broker.admin.ensure_topic`)."""
    if not (math.isfinite(rate) and rate > 0):
        raise StockstreamError(f"--rate {rate} is not a positive number", "use e.g. --rate 20")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise StockstreamError(
            f"--duration {duration} is not a positive number of seconds", "leave it out to run until Ctrl-C"
        )
    if not tick_seconds > 0:
        raise ValueError(f"tick_seconds must be > 0, got {tick_seconds}")
    report = LiveReport(topic=settings.topic)
    pacer = Pacer(rate)
    failures: list[BaseException] = []
    started = monotonic()
    # A shell starts background jobs with SIGINT ignored: `kill -TERM` stops them like Ctrl-C.
    with closing(producer(settings)) as prod, sigterm_raises(KeyboardInterrupt):
        try:
            tick = 0
            next_progress = progress_seconds
            while not failures:
                tick += 1
                # Scheduled on the run's start, not on the previous tick: a slow tick is caught up.
                scheduled = tick * tick_seconds if duration is None else min(tick * tick_seconds, duration)
                delay = started + scheduled - monotonic()
                if delay > 0:
                    sleep(delay)
                batch = market.trade(pacer.due(scheduled))
                if not batch:
                    report.idle_ticks += 1
                for txn in batch:
                    future = prod.send(settings.topic, key=txn.ticker.encode(), value=txn.to_json())
                    future.add_callback(report.acknowledged)
                    future.add_errback(failures.append)
                report.add(batch)
                if on_progress is not None and scheduled >= next_progress:
                    next_progress += progress_seconds
                    report.seconds = monotonic() - started
                    on_progress(report)
                if duration is not None and scheduled >= duration:
                    break
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM
            report.interrupted = True
            log.info("interrupted: flushing the %d records queued so far", report.queued)
        except KafkaError as exc:
            failures.append(exc)
        prod.flush()
    report.seconds = monotonic() - started
    if failures:
        raise StockstreamError(
            f"the broker did not take the live records ({report.sent} of {report.queued} "
            f"acknowledged): {failures[0]!r}",
            "check the broker with `stockstream status`, then start the live market again",
        )
    log.info(
        "published %d live records to %s in %.1fs (%.1f records/s)",
        report.sent,
        report.topic,
        report.seconds,
        report.rate,
    )
    return report
