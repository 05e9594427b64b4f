"""Freshness: event time -> visible in silver, in gold and in the dashboard's query, at a steady load.

    .venv/bin/python benchmarks/freshness.py [--rate 20000] [--seconds 60] [--warmup 10] [--drain 300]

Starts its own broker and supervised stream (the defaults of `stockstream up`, trigger included)
in a temporary data root on free ports and extracts offline reference data of one day. Then one
confluent-kafka producer (the replay's) sends transactions at a steady --rate in ticks of 50 ms:
first one per ticker, waited for in gold (the stream is up to speed), then --warmup seconds that are
not measured, then --seconds that are. Every record of a tick carries the wall-clock moment the tick
starts as its event time (so a tick's latency includes the sending of its last record); txn_ids are
unique; tickers are reference.dim_stock's in turn, so how many records of each ticker the first n
records hold is known.

A tick is visible in a table once every ticker's rows there cover what was sent of it up to and
including that tick. The Kafka key is the ticker, so a ticker's records sit in one partition in
order and the stream always has a prefix of them: counts are enough. Measured per tick of the
measured window, its visibility minus its event time:

- **silver.transactions**, **gold.stock_daily**: from the tables' Delta logs after the run. A
  version is visible from the moment its log file was written (its mtime); per version, silver's
  rows per ticker (each data file read once) and gold's `trades` per ticker summed over its
  trade_dates. Exact, and nothing polls the lakehouse while the stream works.
- **dashboard price query**: a thread calls the dashboard's own query (`DashboardData.price`, a
  partition-pruned delta-rs read of gold.stock_daily) every 200 ms for one ticker; the samples are
  the ticks holding a trade of it, visible at the first poll that returned a count covering them.
  That adds the reader's side (poll interval, read time) to gold's commit.

After the last send it waits up to --drain seconds for gold to show everything. A tick still not
visible then counts in `samples` and not in `visible`, with its latency known only as a lower
bound: a percentile that lands on such ticks is printed as "> N". The stream's rate is what silver
took in from its first commit in the window to its last (its throughput when it is behind).
Whether the backlog kept growing is read from gold's commits: the age of the newest tick each one
showed rises batch after batch while every batch is bigger than the last. From fewer than three
commits (a short window, slow batches) the report says it cannot tell.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from stockstream import lake
from stockstream.benchmarking import cli, machine
from stockstream.broker.admin import ensure_topic
from stockstream.broker.local import LocalBroker
from stockstream.broker.replay import FLUSH_TIMEOUT, Deliveries, ReplayReport, publisher, send, shut
from stockstream.config import Settings
from stockstream.market.sources import business_days
from stockstream.market.transactions import Transaction
from stockstream.services.process import free_port
from stockstream.services.stream import StreamService
from stockstream.tables import (
    DAILY_BARS,
    DIM_STOCK,
    SILVER_QUARANTINE,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    table,
)

if TYPE_CHECKING:
    from deltalake import DeltaTable

TICK = 0.05
"""Seconds between two sends of rate * TICK records."""
POLL = 0.2
"""Seconds between two dashboard queries (and the drain's checks of gold)."""
GOAL_P95 = 3.0
SETUP_TIMEOUT = 300.0
"""Seconds extract may take, and the stream to show the first records in gold."""
INVISIBLE = math.inf
MIN_COMMITS = 3
"""Commits a rate or a trend is read from: each batch takes everything waiting, so two say little."""


@dataclass(frozen=True)
class Universe:
    """The tickers records rotate through (record n is of tickers[n % len]), with a price each."""

    tickers: list[str]
    currencies: list[str]
    prices: list[float]
    timezones: list[str]

    def count(self, index: int, records: int) -> int:
        """Records of tickers[index] among the first `records`."""
        k = len(self.tickers)
        return records // k + (1 if index < records % k else 0)

    def covered(self, seen: dict[str, int]) -> int:
        """The largest n such that `seen` (rows per ticker) holds all of the first n records."""
        k = len(self.tickers)
        return min(seen.get(ticker, 0) * k + i for i, ticker in enumerate(self.tickers))


def universe(settings: Settings) -> Universe:
    """reference.dim_stock's tickers, each priced at its close in reference.daily_bars."""
    stocks = lake.read(settings, DIM_STOCK, columns=["ticker", "currency", "exchange_timezone"])
    bars = lake.read(settings, DAILY_BARS, columns=["ticker", "close"])
    closes = dict(zip(bars["ticker"], bars["close"], strict=True))
    stocks = stocks.sort_values("ticker")
    missing = sorted(set(stocks["ticker"]) - set(closes))
    if stocks.empty or missing:
        raise SystemExit(f"reference data incomplete: {len(stocks)} stocks, no daily bar for {missing}")
    return Universe(
        tickers=[str(t) for t in stocks["ticker"]],
        currencies=[str(c) for c in stocks["currency"]],
        prices=[float(closes[t]) for t in stocks["ticker"]],
        timezones=[str(z) for z in stocks["exchange_timezone"]],
    )


def midday_ticker(stocks: Universe, now: datetime) -> int:
    """The ticker whose exchange is closest to noon: its trade_date will not roll over during the
    run, so the dashboard's latest day of it holds every trade sent."""

    def from_noon(i: int) -> float:
        local = now.astimezone(ZoneInfo(stocks.timezones[i]))
        return abs(local.hour + local.minute / 60 - 12)

    return min(range(len(stocks.tickers)), key=from_noon)


@dataclass(frozen=True)
class Tick:
    """What one tick sent: its event time (epoch seconds) and the records sent before and after it."""

    event_time: float
    before: int
    after: int


class Sender:
    """One producer (the replay's) sending the rotation of records, each tick's stamped with its start."""

    def __init__(self, settings: Settings, stocks: Universe) -> None:
        self.settings = settings
        self.stocks = stocks
        self.sent = 0
        self.run_id = secrets.token_hex(8)  # txn_ids unique to this run
        self.deliveries = Deliveries(ReplayReport(topic=settings.topic))
        self.on_delivery = self.deliveries.of(None)
        self.producer = publisher(settings)
        self.rng = random.Random(7)  # noqa: S311 - prices and sizes, not secrets

    def tick(self, records: int) -> Tick:
        """Send `records` records stamped now (to the millisecond the record carries)."""
        stamp = datetime.fromtimestamp(math.floor(time.time() * 1000) / 1000, UTC)
        stocks, rng, k = self.stocks, self.rng, len(self.stocks.tickers)
        before = self.sent
        for n in range(before, before + records):
            i = n % k
            ticker = stocks.tickers[i]
            txn = Transaction(
                txn_id=f"{self.run_id}{n:012x}",
                ticker=ticker,
                timestamp=stamp,
                price=round(stocks.prices[i] * (1 + (rng.random() - 0.5) / 500), 4),
                volume=rng.randint(1, 500),
                action="BUY" if rng.random() < 0.5 else "SELL",
                currency=stocks.currencies[i],
            )
            send(self.producer, self.settings.topic, ticker.encode(), txn.to_json(), self.on_delivery)
            if (n + 1) % 256 == 0:
                self.producer.poll(0)
        self.producer.poll(0)
        if self.deliveries.failures:
            raise SystemExit(f"the broker failed records: {self.deliveries.failures[0]!r}")
        self.sent += records
        return Tick(stamp.timestamp(), before, self.sent)

    def paced(self, rate: float, seconds: float) -> list[Tick]:
        """rate records/s for `seconds`: rate * TICK records every TICK seconds on an absolute
        schedule. Ticks behind it follow one another without a pause, so the rate falls short only
        when the producer cannot keep up (the report shows the rate achieved)."""
        ticks = []
        started = time.monotonic()
        first = self.sent
        for k in range(1, round(seconds / TICK) + 1):
            due = first + round(rate * k * TICK)
            if due > self.sent:
                ticks.append(self.tick(due - self.sent))
            pause = started + k * TICK - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        return ticks

    def close(self) -> None:
        """Wait for every acknowledgement, then close the producer."""
        try:
            pending = self.producer.flush(FLUSH_TIMEOUT)
        finally:
            shut(self.producer)
        if pending or self.deliveries.failures:
            raise SystemExit(f"{pending} records unacknowledged, {len(self.deliveries.failures)} failed")


def gold_seen(settings: Settings) -> dict[str, int]:
    """gold.stock_daily's trades per ticker, over all its trade_dates."""
    frame = lake.read(settings, STOCK_DAILY, columns=["ticker", "trades"])
    return {str(t): int(n) for t, n in frame.groupby("ticker")["trades"].sum().items()}


def wait_gold(settings: Settings, stocks: Universe, records: int, timeout: float) -> bool:
    """Poll gold until it holds the first `records` records; False when `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while stocks.covered(gold_seen(settings)) < records:
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)
    return True


class DashboardPoller(threading.Thread):
    """The dashboard's price query of one ticker every POLL seconds: (moment answered, trades)."""

    def __init__(self, settings: Settings, ticker: str) -> None:
        super().__init__(name="dashboard-poller", daemon=True)
        from stockstream.dashboard.data import DashboardData

        self.data = DashboardData(settings)
        self.ticker = ticker
        self.polls: list[tuple[float, int]] = []
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(POLL):
            try:
                price = self.data.price(self.ticker)
            except Exception as exc:  # a read that failed is reported, and the next poll tries again
                self.errors.append(repr(exc))
                continue
            self.polls.append((time.time(), price.trades if price is not None else 0))

    def trades(self) -> int:
        return self.polls[-1][1] if self.polls else 0


@dataclass(frozen=True)
class Version:
    """A Delta version: when its log file was written (epoch seconds), the records it covers (see
    Universe.covered) and its rows in all."""

    visible_at: float
    covered: int
    rows: int


COMMIT = re.compile(r"\d{20}\.json")
"""A Delta commit's log file (not a checkpoint, a checksum or a compacted range)."""


def versions(
    settings: Settings, name: str, seen_at: Callable[[DeltaTable, Path], dict[str, int]], stocks: Universe
) -> list[Version]:
    """Every version of table `name`, oldest first, with what `seen_at(table at it, its folder)`
    counts per ticker."""
    from deltalake import DeltaTable

    path = table(name).path(settings)
    logs = sorted(f for f in (path / "_delta_log").iterdir() if COMMIT.fullmatch(f.name))
    delta = DeltaTable(str(path))
    found = []
    for log in logs:
        delta.load_as_version(int(log.name.removesuffix(".json")))
        seen = seen_at(delta, path)
        found.append(Version(log.stat().st_mtime, stocks.covered(seen), sum(seen.values())))
    return found


class SilverFiles:
    """silver's rows per ticker at a version: the sum over its data files, each file read once."""

    def __init__(self) -> None:
        self.per_file: dict[str, Counter[str]] = {}

    def __call__(self, delta: DeltaTable, path: Path) -> dict[str, int]:
        import pyarrow.parquet as pq

        total: Counter[str] = Counter()
        for uri in delta.file_uris():
            counts = self.per_file.get(uri)
            if counts is None:
                column = pq.read_table(uri, columns=["ticker"]).column("ticker")
                pairs = column.value_counts().to_pylist()
                counts = Counter({str(v["values"]): int(v["counts"]) for v in pairs})
                self.per_file[uri] = counts
            total.update(counts)
        return dict(total)


def gold_at(delta: DeltaTable, path: Path) -> dict[str, int]:
    """gold.stock_daily's trades per ticker (over its trade_dates) at the table's loaded version."""
    import pyarrow.fs as pa_fs

    # Arrow's own filesystem, as stockstream.lake reads (see the note there).
    local = pa_fs.SubTreeFileSystem(str(path), pa_fs.LocalFileSystem())
    frame = delta.to_pyarrow_dataset(filesystem=local).to_table(columns=["ticker", "trades"]).to_pandas()
    return {str(t): int(n) for t, n in frame.groupby("ticker")["trades"].sum().items()}


def visible_at(
    ticks: Sequence[Tick], moments: Sequence[tuple[float, int]], need: Callable[[Tick], int]
) -> list[float]:
    """Per tick, the first moment whose count reaches need(tick) (INVISIBLE: none did); moments
    are (time, count) in time order, ticks in sending order."""
    found, j = [], 0
    for tick in ticks:
        target = need(tick)
        while j < len(moments) and moments[j][1] < target:
            j += 1
        found.append(moments[j][0] if j < len(moments) else INVISIBLE)
    return found


@dataclass(frozen=True)
class Row:
    """One measured path: the latency of every sample (INVISIBLE: not visible when the drain
    ended) and the least latency any invisible one can have."""

    name: str
    latencies: list[float]
    bound: float

    @property
    def visible(self) -> int:
        return sum(1 for v in self.latencies if v != INVISIBLE)

    def quantile(self, q: float, values: Sequence[float] | None = None) -> str:
        """Nearest-rank quantile, "> bound" when it falls on a sample that never became visible."""
        ranked = sorted(self.latencies if values is None else values)
        if not ranked:
            return "-"
        value = ranked[max(0, math.ceil(q * len(ranked)) - 1)]
        return f"> {self.bound:.1f}" if value == INVISIBLE else f"{value:.2f}"

    def p95_met(self) -> bool:
        ranked = sorted(self.latencies)
        return bool(ranked) and ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)] <= GOAL_P95

    def markdown(self) -> str:
        cells = [self.quantile(q) for q in (0.5, 0.95, 0.99, 1.0)]
        return f"| {self.name} | " + " | ".join(cells) + f" | {len(self.latencies):,} | {self.visible:,} |"


def row(name: str, ticks: Sequence[Tick], seen: Sequence[float], ended: float) -> Row:
    """The latencies of `ticks` seen at `seen` (INVISIBLE: not by `ended`, when the wait ended)."""
    latencies = [at - tick.event_time for tick, at in zip(ticks, seen, strict=True)]
    waiting = [ended - tick.event_time for tick, at in zip(ticks, seen, strict=True) if at == INVISIBLE]
    return Row(name, latencies, min(waiting, default=0.0))


UNITS = {"ms": 0.001, "millisecond": 0.001, "second": 1.0, "s": 1.0, "minute": 60.0, "min": 60.0}


def seconds_of(interval: str) -> float:
    """A Spark trigger interval such as '5 seconds' or '500 milliseconds', in seconds."""
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-z]+)\s*", interval.lower())
    unit = match.group(2) if match else ""
    unit = unit if unit in UNITS else unit.removesuffix("s")
    if match is None or unit not in UNITS:
        raise SystemExit(f"cannot read the trigger interval {interval!r}")
    return float(match.group(1)) * UNITS[unit]


def rows_at(history: Sequence[Version], moment: float) -> int:
    """Rows of the last version written by `moment` (0 before the first)."""
    index = bisect_right([v.visible_at for v in history], moment)
    return history[index - 1].rows if index else 0


def intake(history: Sequence[Version], start: float) -> tuple[float, int] | None:
    """Records/s the table took in from its first version written at or after `start` to its last,
    and how many versions that is (None: fewer than two). The stream is busy all along when it
    is behind, so this is then its throughput."""
    later = [v for v in history if v.visible_at >= start]
    if len(later) < 2 or later[-1].visible_at <= later[0].visible_at:
        return None
    return (later[-1].rows - later[0].rows) / (later[-1].visible_at - later[0].visible_at), len(later)


def commit_ages(history: Sequence[Version], ticks: Sequence[Tick]) -> list[float]:
    """Per version that showed ticks no earlier one did: how old the newest of them was then.
    Without maxOffsetsPerTrigger a batch takes everything waiting, so this is about how long the
    batch took; it grows while the backlog, and with it each batch, grows."""
    afters = [tick.after for tick in ticks]
    ages, shown = [], 0
    for version in history:
        newest = bisect_right(afters, version.covered)  # the ticks it holds whole
        if newest > shown:
            ages.append(version.visible_at - ticks[newest - 1].event_time)
            shown = newest
    return ages


@dataclass
class Run:
    """What one run sent and saw."""

    stocks: Universe
    dashboard: int  # index of the dashboard's ticker in stocks.tickers
    ticks: list[Tick]  # of the measured window
    window: tuple[float, float]  # its first and last moment (epoch seconds)
    sent_before: int  # records sent before the window (the first per ticker, the warm-up)
    sent: int  # records sent in all
    drained: bool  # gold held every record before --drain ran out
    ended: float  # when the wait for gold ended (epoch seconds)
    silver: list[Version]
    gold: list[Version]
    polls: list[tuple[float, int]]  # the dashboard's: (moment answered, trades of its ticker)
    poll_errors: list[str]


def run(settings: Settings, day: date, *, rate: float, seconds: float, warmup: float, drain: float) -> Run:
    """Extract `day`'s reference data, start the stream, send and measure (the broker is up)."""
    iso = day.isoformat()
    cli(settings, "extract", "--start", iso, "--end", iso, "--source", "offline", timeout=SETUP_TIMEOUT)
    stocks = universe(settings)
    stream = StreamService(settings)
    poller: DashboardPoller | None = None
    try:
        stream.start()
        sender = Sender(settings, stocks)
        sender.tick(len(stocks.tickers))
        if not wait_gold(settings, stocks, sender.sent, SETUP_TIMEOUT):
            raise SystemExit(f"gold did not show the first {sender.sent} records in {SETUP_TIMEOUT:.0f}s")
        sender.paced(rate, warmup)
        dashboard = midday_ticker(stocks, datetime.now(UTC))
        poller = DashboardPoller(settings, stocks.tickers[dashboard])
        poller.start()
        window_start, sent_before = time.time(), sender.sent
        ticks = sender.paced(rate, seconds)
        window_end = time.time()
        sender.close()
        deadline = time.monotonic() + drain
        drained = wait_gold(settings, stocks, sender.sent, drain)
        # The dashboard's next poll or two, once gold has it all.
        while drained and poller.trades() < stocks.count(dashboard, sender.sent):
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL)
        ended = time.time()
    finally:
        if poller is not None:
            poller.halt.set()
            poller.join()
        stream.stop()
    silver = versions(settings, SILVER_TRANSACTIONS, SilverFiles(), stocks)
    gold = versions(settings, STOCK_DAILY, gold_at, stocks)
    quarantined = len(lake.read(settings, SILVER_QUARANTINE, columns=["reason"]))
    if quarantined:
        raise SystemExit(f"{quarantined} records were quarantined: the load is not all valid transactions")
    held = len(lake.read(settings, SILVER_TRANSACTIONS, columns=["ticker"]))
    if silver[-1].rows != held:
        raise SystemExit(f"silver's data files count {silver[-1].rows} rows, a read of silver {held}")
    return Run(
        stocks=stocks,
        dashboard=dashboard,
        ticks=ticks,
        window=(window_start, window_end),
        sent_before=sent_before,
        sent=sender.sent,
        drained=drained,
        ended=ended,
        silver=silver,
        gold=gold,
        polls=poller.polls,
        poll_errors=poller.errors,
    )


def rows_of(result: Run) -> list[Row]:
    """silver, gold and the dashboard's query, per tick of the measured window."""
    stocks, ticks, mine = result.stocks, result.ticks, result.dashboard

    def through(history: list[Version]) -> list[float]:
        return visible_at(ticks, [(v.visible_at, v.covered) for v in history], lambda t: t.after)

    # The dashboard shows one ticker: its samples are the ticks that hold a trade of it.
    held = [t for t in ticks if stocks.count(mine, t.after) > stocks.count(mine, t.before)]
    polled = visible_at(held, result.polls, lambda t: stocks.count(mine, t.after))
    return [
        row("silver.transactions", ticks, through(result.silver), result.ended),
        row("gold.stock_daily", ticks, through(result.gold), result.ended),
        row("dashboard price query", held, polled, result.ended),
    ]


def listed(values: Sequence[float], most: int = 8) -> str:
    """'1.0s, 2.0s, ...': all when there are few, else the first and last few."""
    cells = [f"{v:.1f}s" for v in values]
    if len(cells) > most:
        cells = [*cells[: most // 2], "...", *cells[-most // 2 :]]
    return ", ".join(cells)


def report(result: Run, rate: float, drain: float, trigger: str) -> None:
    """The run's lines and its table."""
    rows = rows_of(result)
    start, end = result.window
    span = end - start
    sent = result.sent - result.sent_before
    print(
        f"sent: {sent:,} records in the measured {span:.1f}s = {sent / span:,.0f} records/s "
        f"(asked {rate:,.0f}); {result.sent:,} with the first per ticker and the warm-up"
    )
    took = intake(result.silver, start)
    if took is not None and took[1] >= MIN_COMMITS:
        taken = (
            f"silver took in {took[0]:,.0f} records/s from its first commit in the window to its last "
            f"({took[1]} commits)"
        )
    else:
        commits = sum(1 for v in result.silver if v.visible_at >= start)
        taken = f"too few silver commits from the window's start on for a rate ({commits})"
    print(
        f"stream: {taken}; records sent but not in silver: "
        f"{result.sent_before - rows_at(result.silver, start):,} at the window's start, "
        f"{result.sent - rows_at(result.silver, end):,} at its end"
    )
    if result.drained:
        print(f"drained: gold held every record {result.ended - end:.1f}s after the last send")
    else:
        print(f"not drained: gold still lacked records {drain:g}s after the last send (--drain)")
    failed = f": {result.poll_errors[0]}" if result.poll_errors else ""
    print(
        f"dashboard: the price query of {result.stocks.tickers[result.dashboard]} every {POLL:g}s, "
        f"{len(result.polls):,} answers, {len(result.poll_errors)} failed{failed}"
    )
    print()
    print("| measured | p50 s | p95 s | p99 s | max s | samples | visible |")
    print("|---|---|---|---|---|---|---|")
    for line in rows:
        print(line.markdown())
    print()
    gold = rows[1]
    tenth = max(1, len(gold.latencies) // 10)
    print(
        f"gold latency over the window: p50 {gold.quantile(0.5, gold.latencies[:tenth])} s of its "
        f"first tenth of ticks, {gold.quantile(0.5, gold.latencies[-tenth:])} s of its last tenth"
    )
    ages = commit_ages(result.gold, result.ticks)
    print(f"gold commits that showed new ticks: {len(ages)}; age of the newest each showed: {listed(ages)}")
    growth = f"growing: older by more than the trigger interval, {trigger}"
    if gold.visible < len(gold.latencies):
        verdict = "kept growing: gold never showed some ticks (see --drain)"
    elif len(ages) < MIN_COMMITS:
        verdict = f"cannot tell from {len(ages)} gold commit(s): measure longer (--seconds)"
    else:
        grew = ages[-1] - ages[0] > seconds_of(trigger)
        verdict = (
            f"{'kept growing' if grew else 'steady'}: the newest tick a gold commit showed was "
            f"{ages[0]:.1f}s old at the first commit, {ages[-1]:.1f}s at the last ({growth})"
        )
    print(f"backlog {verdict}")
    met = all(line.p95_met() for line in rows[1:])
    print(f"goal p95 <= {GOAL_P95:g} s (gold and the dashboard's query): {'met' if met else 'not met'}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20_000, help="transactions per second")
    parser.add_argument("--seconds", type=float, default=60, help="measured seconds of sending")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of sending before them")
    parser.add_argument(
        "--drain", type=float, default=300, help="seconds to wait for gold after the last send"
    )
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a scratch one)")
    args = parser.parse_args()
    # SIGTERM (kill, a CI timeout) stops the broker and the stream too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.seconds < TICK or args.rate * args.seconds < 1 or args.warmup < 0 or args.drain < 0:
        parser.error(
            f"--seconds must be at least {TICK}, --rate x --seconds at least one record, "
            "--warmup and --drain not negative"
        )

    root = args.keep or Path(tempfile.mkdtemp(prefix="stockstream-freshness-"))
    settings = Settings(
        data_root=root,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        source="offline",
        start_timeout=SETUP_TIMEOUT,
    )
    today = datetime.now(UTC).date()
    day = business_days(today - timedelta(days=7), today - timedelta(days=1))[-1]
    print(
        f"# freshness: {args.rate:,.0f} transactions/s for {args.seconds:g}s after a {args.warmup:g}s "
        f"warm-up, ticks of {TICK * 1000:.0f} ms; {machine()}; stream: trigger {settings.trigger_interval}, "
        f"spark {settings.spark_master}, {settings.spark_shuffle_partitions} shuffle partitions, "
        f"maxOffsetsPerTrigger {settings.max_offsets_per_trigger or 'unset'}, "
        f"{settings.topic_partitions} topic partitions",
        flush=True,
    )
    broker = LocalBroker(settings)
    try:
        broker.start()
        ensure_topic(settings)
        result = run(
            settings, day, rate=args.rate, seconds=args.seconds, warmup=args.warmup, drain=args.drain
        )
    finally:
        broker.stop()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    report(result, args.rate, args.drain, settings.trigger_interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
