"""What the dashboard shows, read from the lakehouse without a JVM: partition-pruned reads of the
gold tables, cached by Delta table version, the six analyses rendered once per range and version,
and the stream service's status.

No read scans a whole gold table: every one names the trade_date partitions it wants, and which
trade_dates exist comes from the Delta log (each file's partition values), not from the data.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from stockstream import lake
from stockstream.analyses import compute
from stockstream.analyses.load import GOLD_TABLES
from stockstream.analyses.report import CHARTS, render
from stockstream.config import Settings
from stockstream.market.model import Stock
from stockstream.market.reference import load_universe
from stockstream.services.stream import NOT_RUNNING, StreamService, StreamStatus, describe, last_batch
from stockstream.tables import ALERTS, MINUTE_BARS, STOCK_DAILY, table

log = logging.getLogger(__name__)

TICKER_LOOKBACK = 3
"""Latest trade_date partitions searched (newest first) for a ticker's latest day (its row in
gold.stock_daily, its minute bars): exchanges in different timezones start a new trade_date at
different times."""
ALERT_DAYS = 2
"""Latest trade_date partitions of gold.alerts the latest alerts come from."""
MAX_RANGE_DAYS = 366
"""Longest range of days the analyses are rendered for (a render costs seconds of CPU per week)."""
CHART_SETS = 8
"""Rendered chart sets kept in memory (six PNGs each, a few hundred kB)."""

BAR_COLUMNS = ("window_start", "window_end", "open", "high", "low", "close", "volume", "trades")
PRICE_COLUMNS = ("open", "high", "low", "close", "volume", "trades", "growth_pct", "updated_at")
ALERT_COLUMNS = (
    "alert_id",
    "ticker",
    "pattern",
    "detected_at",
    "event_time",
    "trade_date",
    "evidence",
    "baseline_volume",
    "observed_volume",
    "run_length",
)
DAY_COLUMNS = (
    "trade_date",
    "ticker",
    "open",
    "close",
    "volume",
    "growth_pct",
    "industry",
    "country",
    "currency",
)

T = TypeVar("T")


@dataclass(frozen=True)
class TableState:
    """A table as its Delta log describes it: the latest version (None: no table) and the
    trade_dates of its files, newest first."""

    version: int | None
    trade_dates: tuple[date, ...]

    @property
    def latest(self) -> date | None:
        return self.trade_dates[0] if self.trade_dates else None


class DeltaLog:
    """The Delta logs of the tables the dashboard reads. Each table is opened once and then brought
    up to date incrementally (only commits newer than the last one seen are read); its trade_dates
    are taken from the log's partition values again only when its version changed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tables: dict[str, Any] = {}
        self._states: dict[str, TableState] = {}
        self._lock = threading.Lock()

    def state(self, name: str) -> TableState:
        """The table's latest version and trade_dates (version None and no dates when it does not exist)."""
        with self._lock:
            version = self._refresh(name)
            if version is None:
                return TableState(None, ())
            known = self._states.get(name)
            if known is None or known.version != version:
                known = TableState(version, _trade_dates(self._tables[name].partitions()))
                self._states[name] = known
            return known

    def _refresh(self, name: str) -> int | None:
        from deltalake import DeltaTable

        spec = table(name)
        if not spec.exists(self.settings):
            self._tables.pop(name, None)
            self._states.pop(name, None)
            return None
        delta = self._tables.get(name)
        if delta is not None:
            try:
                delta.update_incremental()
                return int(delta.version())
            except Exception as exc:  # a table removed and created again: open it afresh
                log.debug("reopening %s: %s", name, exc)
        delta = DeltaTable(str(spec.path(self.settings)))
        self._tables[name] = delta
        return int(delta.version())


def _trade_dates(partitions: Sequence[dict[str, str]]) -> tuple[date, ...]:
    days = {date.fromisoformat(values["trade_date"]) for values in partitions if values.get("trade_date")}
    return tuple(sorted(days, reverse=True))


class VersionCache:
    """Values computed from tables, kept while the tables' versions stay the same (bounded LRU)."""

    def __init__(self, size: int = 256) -> None:
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], T]) -> T:
        """The value cached under key for this version; computed (and kept) when there is none."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[no-any-return]
        value = compute()
        with self._lock:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class DayBars:
    """A ticker's 1-minute bars of its latest trading day (frame empty and trade_date None when
    it has none in the latest partitions), ordered by window_start."""

    ticker: str
    trade_date: date | None
    frame: pd.DataFrame


@dataclass(frozen=True)
class Price:
    """A ticker's live price and its day so far: its row of its latest trade_date in
    gold.stock_daily, which the stream MERGEs on every micro-batch (price is the day's close, the
    last traded price; as_of the row's updated_at, UTC)."""

    ticker: str
    trade_date: date
    price: float
    as_of: datetime
    open: float
    high: float
    low: float
    change_pct: float
    volume: int
    trades: int


@dataclass(frozen=True)
class Movers:
    """The stocks of the latest trading day in gold.stock_daily that rose and fell most."""

    trade_date: date | None
    up: pd.DataFrame
    down: pd.DataFrame


@dataclass(frozen=True)
class StreamHealth:
    """The stream service at a glance: its state, lag behind the topic and last micro-batch."""

    state: str
    detail: str
    lag: int | None
    batch_id: int | None
    batch_at: datetime | None
    rows_per_second: float | None
    input_rows: int | None
    updated_at: datetime | None


@dataclass(frozen=True)
class RenderedChart:
    """One of the six analyses of a range: its PNG, or None when there was nothing to draw."""

    number: int
    file: str
    title: str
    caption: str
    png: bytes | None


@dataclass(frozen=True)
class ChartSet:
    """The six analyses of [start, end] as rendered for some versions of the gold tables."""

    key: str
    start: date
    end: date
    versions: dict[str, int | None]
    rendered_at: float
    charts: tuple[RenderedChart, ...]
    messages: tuple[str, ...]
    days_with_data: tuple[date, ...]


class DashboardData:
    """The dashboard's data access: every read names its trade_date partitions, every result is
    cached until the table it came from has a new version."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        stream: StreamService | None = None,
    ) -> None:
        self.settings = settings
        self.log = DeltaLog(settings)
        self._cache = VersionCache()
        self._clock = clock
        self._stream = stream or StreamService(settings)
        self._lag: tuple[float, int | None] | None = None
        self._charts: OrderedDict[str, ChartSet] = OrderedDict()
        self._latest_render: dict[tuple[date, date], str] = {}
        self._charts_lock = threading.Lock()
        # One render at a time: the plots set matplotlib's global rcParams while they draw.
        self._render_lock = threading.Lock()
        self._universe: list[Stock] | None = None

    # --- reference ---------------------------------------------------------------------------

    def tickers(self) -> list[Stock]:
        """The stocks of the configured universe (the tickers extract writes), in file order."""
        if self._universe is None:
            self._universe = load_universe(self.settings.universe_file)
        return self._universe

    def known(self, ticker: str) -> bool:
        return any(stock.ticker == ticker for stock in self.tickers())

    def default_ticker(self) -> str | None:
        """The most traded stock of the latest day in gold.stock_daily, else the universe's first."""
        day = self._latest_day()
        if not day.empty:
            ranked = day.sort_values(["volume", "ticker"], ascending=[False, True])
            return str(ranked["ticker"].iloc[0])
        stocks = self.tickers()
        return stocks[0].ticker if stocks else None

    # --- live -------------------------------------------------------------------------------------

    def day_bars(self, ticker: str) -> DayBars:
        """The ticker's closed 1-minute bars of the newest of the latest trade_dates that has any."""
        state = self.log.state(MINUTE_BARS)
        return self._cache.get(
            ("bars", ticker), state.version, lambda: self._read_day_bars(ticker, state.trade_dates)
        )

    def _newest_rows(
        self, name: str, columns: Sequence[str], ticker: str, trade_dates: Sequence[date]
    ) -> tuple[date, pd.DataFrame] | None:
        """The ticker's rows of the newest of the latest trade_dates that has any: one
        partition-and-ticker read per date tried (exchanges start a new trade_date at different
        times, so the newest date may not have the ticker yet)."""
        for day in trade_dates[:TICKER_LOOKBACK]:
            where: list[lake.Filter] = [("trade_date", "=", day), ("ticker", "=", ticker)]
            frame = lake.read(self.settings, name, columns=columns, where=where)
            if not frame.empty:
                return day, frame
        return None

    def _read_day_bars(self, ticker: str, trade_dates: Sequence[date]) -> DayBars:
        found = self._newest_rows(MINUTE_BARS, BAR_COLUMNS, ticker, trade_dates)
        if found is None:
            return DayBars(ticker, None, pd.DataFrame(columns=list(BAR_COLUMNS)))
        day, frame = found
        frame = frame.sort_values("window_start").reset_index(drop=True)
        for column in ("window_start", "window_end"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return DayBars(ticker, day, frame)

    def price(self, ticker: str) -> Price | None:
        """The ticker's live price from gold.stock_daily (seconds behind the trades, unlike the
        minute bars, which close only when the watermark passes); None when it has no row in the
        latest trade_dates."""
        state = self.log.state(STOCK_DAILY)
        return self._cache.get(
            ("price", ticker), state.version, lambda: self._read_price(ticker, state.trade_dates)
        )

    def _read_price(self, ticker: str, trade_dates: Sequence[date]) -> Price | None:
        found = self._newest_rows(STOCK_DAILY, PRICE_COLUMNS, ticker, trade_dates)
        if found is None:
            return None
        day, frame = found
        if len(frame) > 1:
            log.warning("%s has %d rows for (%s, %s), one expected", STOCK_DAILY, len(frame), day, ticker)
        frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
        row = frame.sort_values("updated_at").iloc[-1]
        # Delta DECIMAL arrives as Python Decimal objects: float() takes both.
        return Price(
            ticker=ticker,
            trade_date=day,
            price=float(row["close"]),
            as_of=row["updated_at"].to_pydatetime(),
            open=float(row["open"]),
            high=float(row["high"]),
            low=float(row["low"]),
            change_pct=float(row["growth_pct"]),
            volume=int(row["volume"]),
            trades=int(row["trades"]),
        )

    def alerts(self, limit: int = 20) -> pd.DataFrame:
        """The latest alerts of the latest trade_dates, newest (event time) first."""
        state = self.log.state(ALERTS)
        days = state.trade_dates[:ALERT_DAYS]

        def read() -> pd.DataFrame:
            if not days:
                return pd.DataFrame(columns=list(ALERT_COLUMNS))
            frame = lake.read(
                self.settings, ALERTS, columns=ALERT_COLUMNS, where=[("trade_date", "in", days)]
            )
            for column in ("detected_at", "event_time"):
                frame[column] = pd.to_datetime(frame[column], utc=True)
            return frame.sort_values(
                ["event_time", "detected_at", "alert_id"], ascending=[False, False, True]
            ).reset_index(drop=True)

        return self._cache.get("alerts", state.version, read).head(limit)

    def _latest_day(self) -> pd.DataFrame:
        """gold.stock_daily's rows of its latest trade_date."""
        state = self.log.state(STOCK_DAILY)

        def read() -> pd.DataFrame:
            if state.latest is None:
                return pd.DataFrame(columns=list(DAY_COLUMNS))
            frame = lake.read(
                self.settings, STOCK_DAILY, columns=DAY_COLUMNS, where=[("trade_date", "=", state.latest)]
            )
            frame["trade_date"] = pd.to_datetime(frame["trade_date"]).dt.date
            # Delta DECIMAL arrives as Python Decimal objects.
            for column in ("open", "close", "growth_pct"):
                frame[column] = frame[column].astype("float64")
            return frame

        return self._cache.get("latest_day", state.version, read)

    def movers(self, n: int = 5) -> Movers:
        """The n biggest risers and fallers of the latest trading day (growth_pct of open -> close)."""
        day = self._latest_day()
        if day.empty:
            empty = pd.DataFrame(columns=list(DAY_COLUMNS))
            return Movers(None, empty, empty)
        ranked = compute.top_movers(day, n=n)
        detail = day.set_index("ticker")
        parts = {}
        for direction in ("up", "down"):
            tickers = ranked.loc[ranked["direction"] == direction, "ticker"].tolist()
            parts[direction] = detail.loc[tickers].reset_index()
        return Movers(day["trade_date"].iloc[0], parts["up"], parts["down"])

    def stream(self) -> StreamHealth:
        """The stream service's state, its lag (asked from the broker at most once per refresh)
        and its last micro-batch."""
        reason = self._stream.unhealthy_reason()
        status = self._stream.status()
        if reason is None:
            state = "healthy"
        elif reason == NOT_RUNNING:
            state = "stopped"
        else:
            state = "unhealthy"
        lag = self._stream_lag(status) if status is not None else None
        batch = last_batch(status) if status is not None else None
        if status is None:
            detail = reason or "no status yet"
        else:
            summary = describe(status, lag)
            detail = summary if reason is None else f"{reason}; {summary}"
        return StreamHealth(
            state=state,
            detail=detail,
            lag=lag,
            batch_id=batch.batch_id if batch else None,
            batch_at=batch.timestamp if batch else None,
            rows_per_second=batch.rows_per_second if batch else None,
            input_rows=batch.input_rows if batch else None,
            updated_at=status.updated_at if status else None,
        )

    def _stream_lag(self, status: StreamStatus) -> int | None:
        now = self._clock()
        if self._lag is not None and now - self._lag[0] < self.settings.dashboard_refresh_seconds:
            return self._lag[1]
        lag = self._stream.lag(status)
        self._lag = (now, lag)
        return lag

    # --- analyses -----------------------------------------------------------------------------------

    def default_range(self) -> tuple[date, date] | None:
        """The last render_window_days trading days with rows in gold.stock_daily (from its log)."""
        days = self.log.state(STOCK_DAILY).trade_dates[: self.settings.render_window_days]
        return (days[-1], days[0]) if days else None

    def charts(self, start: date, end: date) -> ChartSet:
        """The six analyses of [start, end]: rendered once per versions of the gold tables, and not
        again within dashboard_chart_interval seconds of the last render of the same range."""
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise ValueError(f"{start}..{end} is longer than {MAX_RANGE_DAYS} days")
        versions = {name: self.log.state(name).version for name in GOLD_TABLES}
        key = _chart_key(start, end, versions)
        hit = self._cached_charts(key, start, end)
        if hit is not None:
            return hit
        with self._render_lock:
            hit = self._cached_charts(key, start, end)  # rendered while this one waited
            if hit is not None:
                return hit
            rendered = self._render(key, start, end, versions)
        with self._charts_lock:
            self._charts[key] = rendered
            self._latest_render[(start, end)] = key
            while len(self._charts) > CHART_SETS:
                old, dropped = self._charts.popitem(last=False)
                if self._latest_render.get((dropped.start, dropped.end)) == old:
                    del self._latest_render[(dropped.start, dropped.end)]
        return rendered

    def _cached_charts(self, key: str, start: date, end: date) -> ChartSet | None:
        with self._charts_lock:
            exact = self._charts.get(key)
            if exact is not None:
                self._charts.move_to_end(key)
                return exact
            # The gold tables change with every micro-batch while the stream runs: the range's
            # last render stands in for a while rather than rendering the charts every refresh.
            recent = self._charts.get(self._latest_render.get((start, end), ""))
            age = None if recent is None else self._clock() - recent.rendered_at
            if age is not None and age < self.settings.dashboard_chart_interval:
                return recent
        return None

    def _render(self, key: str, start: date, end: date, versions: dict[str, int | None]) -> ChartSet:
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="stockstream-dashboard-") as folder:
            out = Path(folder)
            report = render(self.settings, start, end, out)
            charts = tuple(
                RenderedChart(
                    number=chart.number,
                    file=chart.file,
                    title=chart.title,
                    caption=chart.caption,
                    png=(out / chart.file).read_bytes() if (out / chart.file) in report.files else None,
                )
                for chart in CHARTS
            )
        log.info("rendered the analyses of %s..%s in %.1fs", start, end, time.perf_counter() - began)
        return ChartSet(
            key=key,
            start=start,
            end=end,
            versions=versions,
            rendered_at=self._clock(),
            charts=charts,
            messages=report.messages,
            days_with_data=report.days_with_data,
        )

    def chart_png(self, key: str, file: str) -> bytes | None:
        """A rendered chart's PNG by its set's key and file name; None when not (or no longer) kept."""
        with self._charts_lock:
            charts = self._charts.get(key)
        if charts is None:
            return None
        return next((chart.png for chart in charts.charts if chart.file == file), None)


def _chart_key(start: date, end: date, versions: dict[str, int | None]) -> str:
    text = f"{start}|{end}|" + "|".join(f"{name}={versions[name]}" for name in sorted(versions))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
