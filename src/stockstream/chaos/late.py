"""Late and out-of-order events against gold.minute_bars, the one table an event-time watermark
bounds: an event late by less than the watermark is counted in its live 1-minute bar by the stream
itself; one late by more, arriving after the watermark has closed its window, is missing from the
stream's bar but not lost: silver and the daily gold tables have it (they do not depend on the
watermark, invariant 6) and the day finaliser rewrites the day's minute bars complete.

Each round publishes, per ticker, in this order (W = settings.minute_bar_watermark):
1. on time: trades spread over less than W from the round's start B (the last exactly at B+W-10s);
2. within: trades at random times in [B, B+W-10s): older than what the stream has seen, by less
   than W, in windows the watermark has not closed;
3. advance: one trade far enough ahead that the watermark closes every window of steps 1-2;
4. beyond: trades at random times in those closed windows: late by more than W.
The scenario waits for the stream's minute-bar query to have moved its watermark after steps 1 and
3 (the job's status file reports it), so the batches, and what is late, are the same every run."""

from __future__ import annotations

import json
import logging
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stockstream.broker.replay import publish
from stockstream.chaos import expect
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, invariant_failures, silver_account
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import ACTIONS, Transaction, txn_id
from stockstream.services.process import wait_until
from stockstream.services.stream import StreamService

log = logging.getLogger(__name__)

TITLE = "late and out-of-order events (minute-bar watermark)"
MINUTE = 60
_UNITS = {"second": 1, "minute": 60, "hour": 3600}


def watermark_seconds(text: str) -> int:
    """'2 minutes' -> 120: a Spark interval string of one unit, as settings.minute_bar_watermark is."""
    match = re.fullmatch(r"\s*(\d+)\s*(second|minute|hour)s?\s*", text.lower())
    if match is None:
        raise StockstreamError(f"cannot read the watermark {text!r}", "use e.g. '2 minutes' or '90 seconds'")
    return int(match.group(1)) * _UNITS[match.group(2)]


def stream_watermark(settings: Settings, query: str = "minute_bars") -> datetime | None:
    """The event-time watermark a query's last batch ran with (naive UTC), from the job's status."""
    try:
        status = json.loads(settings.stream_status_file.read_text(encoding="utf-8"))
        text = status["queries"][query]["watermark"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return expect.naive_utc(text) if text else None


def wait_watermark(settings: Settings, at_least: datetime, timeout: float = 600) -> None:
    """Until the minute-bar query runs with a watermark at or past `at_least`: every window ending
    by then is closed (and written), and any later batch drops events older than it."""

    def passed() -> bool:
        mark = stream_watermark(settings)
        return mark is not None and mark >= at_least

    if not wait_until(passed, timeout, 0.5):
        raise StockstreamError(
            f"the minute-bar watermark did not reach {at_least:%H:%M:%S} within {timeout:.0f}s "
            f"(it is at {stream_watermark(settings)})"
        )


@dataclass
class Round:
    """One round's events by kind, and the windows they fall in."""

    start: datetime  # B, naive UTC, on a minute
    on_time: list[Transaction] = field(default_factory=list)
    within: list[Transaction] = field(default_factory=list)
    advance: list[Transaction] = field(default_factory=list)
    beyond: list[Transaction] = field(default_factory=list)

    @property
    def windows(self) -> set[expect.BarKey]:
        """The windows of steps 1, 2 and 4 (the advance trade's window is closed by the next round)."""
        return {(t.ticker, expect.window_of(t.timestamp)) for t in self.on_time + self.within + self.beyond}


class Events:
    """Builds the rounds' transactions: valid contract records of real tickers, unique txn_ids."""

    def __init__(self, rng: random.Random, tickers: dict[str, tuple[float, str]]) -> None:
        self.rng = rng
        self.tickers = tickers  # ticker -> (reference price, currency)
        self.seq = 0

    def trade(self, ticker: str, moment: datetime) -> Transaction:
        self.seq += 1
        price, currency = self.tickers[ticker]
        stamp = moment.replace(tzinfo=UTC)
        return Transaction(
            txn_id=txn_id(ticker, stamp, 1_000_000 + self.seq),
            ticker=ticker,
            timestamp=stamp,
            price=round(price * self.rng.uniform(0.97, 1.03), 2),
            volume=self.rng.randint(1, 500),
            action=self.rng.choice(ACTIONS),
            currency=currency,
        )

    def at_random(self, ticker: str, start: datetime, seconds: int) -> Transaction:
        return self.trade(ticker, start + timedelta(seconds=self.rng.randrange(seconds)))


def plan_rounds(
    events: Events, first: datetime, rounds: int, watermark: int, per_kind: tuple[int, int]
) -> tuple[list[Round], Transaction]:
    """`rounds` rounds from `first` and the closing trade that makes the watermark close the last
    round's windows (its own window stays open: only the finaliser writes it)."""
    rng = events.rng
    tickers = sorted(events.tickers)
    spread = watermark - 10
    # End of the last window holding an on-time or within trade; the advance trade puts the
    # watermark a minute past it.
    closed_end = MINUTE * (spread // MINUTE + 1)
    advance_at = closed_end + watermark + MINUTE
    period = advance_at + 2 * MINUTE
    planned = []
    for r in range(rounds):
        start = first + timedelta(seconds=r * period)
        round_ = Round(start)
        leader = rng.choice(tickers)
        round_.on_time.append(events.trade(leader, start + timedelta(seconds=spread)))
        for ticker in tickers:
            round_.on_time += [events.at_random(ticker, start, spread) for _ in range(rng.randint(*per_kind))]
            round_.within += [events.at_random(ticker, start, spread) for _ in range(rng.randint(*per_kind))]
            round_.beyond += [
                events.at_random(ticker, start, closed_end) for _ in range(rng.randint(*per_kind))
            ]
        round_.on_time.sort(key=lambda t: t.timestamp)  # on time: in event-time order
        rng.shuffle(round_.within)
        rng.shuffle(round_.beyond)
        round_.advance.append(events.trade(rng.choice(tickers), start + timedelta(seconds=advance_at)))
        planned.append(round_)
    closing_at = planned[-1].start + timedelta(seconds=advance_at + 2 * MINUTE + watermark)
    return planned, events.trade(rng.choice(tickers), closing_at)


def pick_tickers(
    lab: Lab, rng: random.Random, count: int
) -> tuple[date, datetime, dict[str, tuple[float, str]]]:
    """A day of the lab, `count` tickers of one exchange timezone trading on it (reference price and
    currency from their first trade), and the first minute after their earliest trade that day."""
    day = lab.days[len(lab.days) // 2]
    firsts: dict[str, Transaction] = {}
    for txn in lab.txns:
        if lab.day_of(txn) == day:
            firsts.setdefault(txn.ticker, txn)
    zones: dict[str, list[str]] = {}
    for ticker in sorted(firsts):
        zones.setdefault(str(lab.zones[ticker]), []).append(ticker)
    # A zone with enough tickers (the largest when none has), so the day is one date for all.
    big = sorted(z for z, members in zones.items() if len(members) >= count) or [
        max(zones, key=lambda z: len(zones[z]))
    ]
    same_zone = zones[rng.choice(big)]
    chosen = sorted(rng.sample(same_zone, min(count, len(same_zone))))
    earliest = min(expect.naive_utc(firsts[t].timestamp) for t in chosen)
    first = earliest.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return day, first, {t: (firsts[t].price, firsts[t].currency) for t in chosen}


def trades_per_window(txns: list[Transaction]) -> Counter[expect.BarKey]:
    return Counter((t.ticker, expect.window_of(t.timestamp)) for t in txns)


def feed(lab: Lab, settings: Settings, planned: list[Round], closing: Transaction, watermark: int) -> None:
    """Publish the rounds into the running stream, step by step (see the module's docstring), then
    the closing trade; returns once the minute-bar query has closed every window but its own."""
    wm = timedelta(seconds=watermark)
    for r in planned:
        publish(settings, r.on_time, day_of=lab.day_of)
        wait_watermark(settings, max(t.timestamp for t in r.on_time).replace(tzinfo=None) - wm)
        # The within trades are acknowledged before the advance trade is sent, so no batch sees
        # the advance trade before them: at worst they share one, whose watermark is still the old.
        publish(settings, r.within, day_of=lab.day_of)
        publish(settings, r.advance, day_of=lab.day_of)
        wait_watermark(settings, r.advance[0].timestamp.replace(tzinfo=None) - wm)
        # Any batch from now on drops them (the watermark has passed them), whatever it shares.
        publish(settings, r.beyond, day_of=lab.day_of)
        log.info(
            "late: round at %s: %d on time, %d within, %d beyond the watermark",
            r.start,
            len(r.on_time),
            len(r.within),
            len(r.beyond),
        )
    publish(settings, [closing], day_of=lab.day_of)
    wait_watermark(settings, closing.timestamp.replace(tzinfo=None) - wm)
    lab.wait_caught_up(settings)


@dataclass(frozen=True)
class Seen:
    """The minute bars and stock_daily the stream wrote (before the finaliser), and after it."""

    streamed_bars: dict[expect.BarKey, dict[str, Any]]
    streamed_daily: dict[expect.DayKey, dict[str, Any]]
    final_bars: dict[expect.BarKey, dict[str, Any]]


def judge_round(
    r: Round, seen: Seen, expected_stream: dict[expect.BarKey, Any], expected_all: dict[expect.BarKey, Any]
) -> tuple[Counter[str], list[str]]:
    """A round's counts (within / counted, beyond / missed by the stream / picked up by the
    finaliser) read off the bars' trade counts, and what failed in its windows."""
    on, within, late = (trades_per_window(ts) for ts in (r.on_time, r.within, r.beyond))
    counts = Counter(within=len(r.within), beyond=len(r.beyond))
    for key in r.windows:
        streamed = seen.streamed_bars[key]["trades"] if key in seen.streamed_bars else 0
        final = seen.final_bars[key]["trades"] if key in seen.final_bars else 0
        counts["counted"] += min(within[key], max(0, streamed - on[key]))
        counts["missed"] += min(late[key], max(0, on[key] + within[key] + late[key] - streamed))
        counts["picked"] += min(late[key], max(0, final - streamed))

    def only(bars: dict[expect.BarKey, Any]) -> dict[expect.BarKey, Any]:
        return {key: bar for key, bar in bars.items() if key in r.windows}

    problems = [
        f"stream bars: {d}" for d in expect.differences(only(seen.streamed_bars), only(expected_stream))
    ]
    problems += [
        f"finalised bars: {d}" for d in expect.differences(only(seen.final_bars), only(expected_all))
    ]
    if counts["counted"] != len(r.within):
        problems.append(f"the stream counted {counts['counted']} of {len(r.within)} within-watermark trades")
    if counts["missed"] != len(r.beyond) or counts["picked"] != len(r.beyond):
        problems.append(
            f"of {len(r.beyond)} beyond-watermark trades the stream missed {counts['missed']}, the "
            f"finaliser picked up {counts['picked']}"
        )
    return counts, problems


def run(
    lab: Lab, rng: random.Random, rounds: int = 4, tickers: int = 3, per_kind: tuple[int, int] = (1, 3)
) -> Figure:
    """`rounds` rounds of on-time, within-watermark, advancing and beyond-watermark trades of
    `tickers` tickers on one day (each kind 1-3 trades per ticker and round) into one running
    stream; the stream's minute bars must equal the exact expected bars (within-watermark trades
    in, beyond-watermark ones out), its stock_daily every trade; after the day finaliser every
    minute bar must equal the recomputation from silver. A trial per round, one for the day."""
    from stockstream.pipeline.finalize import finalize_days

    figure = Figure(TITLE)
    watermark = watermark_seconds(lab.settings.minute_bar_watermark)
    if watermark < 20:
        raise StockstreamError(f"the scenario needs a minute-bar watermark of 20 s or more, not {watermark}s")
    day, first, chosen = pick_tickers(lab, rng, tickers)
    planned, closing = plan_rounds(Events(rng, chosen), first, rounds, watermark, per_kind)
    everything = [t for r in planned for t in (*r.on_time, *r.within, *r.advance, *r.beyond)] + [closing]
    if any(lab.day_of(t) != day for t in everything):
        raise StockstreamError(f"planned trades fall outside {day}: too many rounds for one day")

    settings = lab.instance("late")
    lab.start_stream(settings)
    try:
        feed(lab, settings, planned, closing, watermark)
        streamed_bars, streamed_daily = expect.minute_bars(settings), expect.stock_daily(settings)
    finally:
        StreamService(settings).stop()
    account = silver_account(settings, {t.txn_id for t in everything})
    reports = finalize_days(lab.spark, settings, [day])
    seen = Seen(streamed_bars, streamed_daily, expect.minute_bars(settings))

    beyond_ids = {t.txn_id for r in planned for t in r.beyond}
    closing_window = (closing.ticker, expect.window_of(closing.timestamp))
    expected_stream = {
        key: bar
        for key, bar in expect.expected_minute_bars(
            [t for t in everything if t.txn_id not in beyond_ids], lab.day_of
        ).items()
        if key != closing_window  # still open: only the finaliser writes it
    }
    expected_all = expect.expected_minute_bars(everything, lab.day_of)
    totals: Counter[str] = Counter()
    for i, r in enumerate(planned):
        counts, problems = judge_round(r, seen, expected_stream, expected_all)
        totals.update(counts)
        figure.trial(not problems, f"round {i}: " + "; ".join(problems))

    # The day as a whole: silver and daily gold had every trade before the finaliser (no
    # watermark there), and after it every minute bar equals the recomputation from silver.
    from_silver = expect.expected_minute_bars(expect.silver_transactions(settings), lab.day_of)
    expected_daily = expect.expected_stock_daily(everything, lab.day_of)
    problems = [f"silver: {account}"] if not account.exact else []
    problems += [f"stream stock_daily: {d}" for d in expect.differences(seen.streamed_daily, expected_daily)]
    problems += [f"finalised bars vs silver: {d}" for d in expect.differences(seen.final_bars, from_silver)]
    problems += [
        f"finalised bars vs published: {d}" for d in expect.differences(seen.final_bars, expected_all)
    ]
    problems += invariant_failures(reports)
    figure.trial(not problems, "the day: " + "; ".join(problems))

    in_bars = sum(bar["trades"] for bar in seen.final_bars.values())
    figure.records = len(everything)
    figure.lost = account.lost + max(0, len(everything) - in_bars)
    figure.duplicated = account.duplicated + max(0, in_bars - len(everything))
    figure.notes.append(
        f"watermark {lab.settings.minute_bar_watermark}, {rounds} rounds x {len(chosen)} tickers; within "
        f"the watermark: {totals['counted']} of {totals['within']} counted by the stream; beyond it: "
        f"{totals['missed']} of {totals['beyond']} missed by the stream, {totals['picked']} picked up by "
        f"the finaliser; silver and stock_daily held every trade before the finaliser; "
        f"{len(seen.streamed_bars)} live bars, {len(seen.final_bars)} after the finaliser"
    )
    lab.remove(settings)
    return figure
