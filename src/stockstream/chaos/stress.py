"""A randomised stress run in the manner of Spark's StreamTest stress tests: one stream instance
driven by a random sequence of steps (publish the next records, publish some again, stop
gracefully, start, SIGKILL the job), with the exact expected state checked after every step:
while the stream runs, silver holds exactly the txn_ids published so far and gold.stock_daily
exactly the values computed in Python from them; while it is stopped, nothing changes."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from stockstream import lake
from stockstream.broker.replay import publish
from stockstream.chaos import expect
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, silver_account
from stockstream.config import Settings
from stockstream.market.transactions import Transaction
from stockstream.services.stream import StreamService
from stockstream.tables import BRONZE_TRANSACTIONS, SILVER_TRANSACTIONS, STOCK_DAILY

log = logging.getLogger(__name__)

TITLE = "random publish / stop / start / kill steps (stress)"
WHILE_RUNNING = {"publish": 4, "again": 1, "stop": 2, "kill": 2}
WHILE_STOPPED = {"publish": 2, "again": 1, "start": 3}
EVERY_KIND = frozenset({"publish", "again", "stop", "start", "kill"})
WATCHED = (BRONZE_TRANSACTIONS, SILVER_TRANSACTIONS, STOCK_DAILY)


def plan_steps(rng: random.Random, steps: int) -> list[str]:
    """The kinds of `steps` steps drawn under the rules: stop and kill only while the stream runs,
    start only while it is stopped, `again` (republish) once something was published. With 6 or
    more steps the draw is repeated until every kind occurs."""
    plan: list[str] = []
    for _ in range(1000):
        running, published, plan = True, False, []
        for _ in range(steps):
            weights = dict(WHILE_RUNNING if running else WHILE_STOPPED)
            if not published:
                weights.pop("again")
            kind = rng.choices(list(weights), weights=list(weights.values()))[0]
            running = {"stop": False, "start": True}.get(kind, running)
            published = published or kind == "publish"
            plan.append(kind)
        if steps < len(EVERY_KIND) + 1 or set(plan) >= EVERY_KIND:
            break
    return plan


@dataclass
class Run:
    """The instance under test and what was published to it."""

    lab: Lab
    settings: Settings
    rng: random.Random
    max_chunk: int
    running: bool = True
    cursor: int = 0  # lab.txns[:cursor] were published
    sent: int = 0  # records sent, republished ones included
    versions: dict[str, int | None] = field(default_factory=dict)  # watched tables when stopped

    @property
    def published(self) -> list[Transaction]:
        return self.lab.txns[: self.cursor]

    def publish_next(self, low: int = 1) -> str:
        k = self.rng.randint(low, self.max_chunk)
        chunk = self.lab.txns[self.cursor : self.cursor + k]
        if chunk:
            publish(self.settings, chunk, day_of=self.lab.day_of)
        self.cursor += len(chunk)
        self.sent += len(chunk)
        return f"{len(chunk)} new records"

    def publish_again(self) -> str:
        """Some already-published records again, as a retried replay sends them."""
        start = self.rng.randrange(self.cursor)
        chunk = self.lab.txns[start : start + self.rng.randint(1, self.max_chunk)][: self.cursor - start]
        publish(self.settings, chunk, day_of=self.lab.day_of)
        self.sent += len(chunk)
        return f"{len(chunk)} records again"

    def exact(self) -> list[str]:
        """Once caught up: silver holds exactly the published txn_ids, stock_daily exactly the
        expected values."""
        self.lab.wait_caught_up(self.settings)
        account = silver_account(self.settings, {t.txn_id for t in self.published})
        problems = [f"silver: {account}"] if not account.exact else []
        expected = expect.expected_stock_daily(self.published, self.lab.day_of)
        problems += [
            f"stock_daily: {d}" for d in expect.differences(expect.stock_daily(self.settings), expected)
        ]
        return problems

    def unchanged(self) -> list[str]:
        """While stopped: no table the stream writes has a new version."""
        now = {name: lake.version(self.settings, name) for name in WATCHED}
        return [f"{name} changed while stopped" for name in WATCHED if now[name] != self.versions.get(name)]

    def step(self, kind: str, figure: Figure, kill_within: float) -> tuple[str, list[str]]:
        """Take one step; what it did and what its check found wrong."""
        if kind == "stop":
            StreamService(self.settings).stop()
            self.running = False
            problems = self.exact()  # nothing in flight was lost by the stop
            self.versions = {name: lake.version(self.settings, name) for name in WATCHED}
            return "stopped", problems
        if kind == "start":
            problems = self.unchanged()  # up to the moment it starts
            self.lab.start_stream(self.settings)
            self.running = True
            return "started", problems + self.exact()
        if kind == "kill":
            what = self.publish_next(low=0)
            time.sleep(self.rng.uniform(0.0, kill_within))
            killed = self.lab.kill_stream_job(self.settings)
            figure.recovery_seconds.append(self.lab.wait_restarted(self.settings, killed))
            return f"{what}, job {killed} killed", self.exact()
        what = self.publish_again() if kind == "again" else self.publish_next()
        return what, self.exact() if self.running else self.unchanged()


def run(
    lab: Lab, rng: random.Random, steps: int = 24, max_chunk: int = 500, kill_within: float = 8.0
) -> Figure:
    """One instance, the stream started, then `steps` steps of plan_steps, each checked:
    - publish: the next 1..max_chunk records of the lab's replay (in event order);
    - again: 1..max_chunk records published before, sent again;
    - stop: StreamService.stop (graceful); then nothing may change until start;
    - start: the supervised stream started again;
    - kill: the next 0..max_chunk records published, the job SIGKILLed 0..kill_within s later,
      the supervisor's restart awaited (the recovery time).
    A step is one trial: its check held (exact state while running, nothing changed while stopped)."""
    figure = Figure(TITLE)
    plan = plan_steps(rng, steps)
    settings = lab.instance("stress")
    state = Run(lab, settings, rng, max_chunk)
    lab.start_stream(settings)
    for i, kind in enumerate(plan):
        started = time.monotonic()
        what, problems = state.step(kind, figure, kill_within)
        log.info(
            "stress step %d %s (%s): %s in %.0fs", i, kind, what, problems or "ok", time.monotonic() - started
        )
        figure.trial(not problems, f"step {i} {kind} ({what}): " + "; ".join(problems))
    StreamService(settings).stop()
    account = silver_account(settings, {t.txn_id for t in state.published})
    figure.records = state.cursor
    figure.lost = account.lost
    figure.duplicated = account.duplicated
    kinds = Counter(plan)
    figure.notes.append(
        f"{steps} steps: "
        + ", ".join(f"{kinds[k]} {k}" for k in ("publish", "again", "stop", "start", "kill"))
        + f"; {state.sent:,} records sent ({state.sent - state.cursor:,} again); checked after each step: "
        "silver = the published txn_ids, stock_daily = the values computed in Python (running), "
        "no table changed (stopped); recovery = kill to the restarted job running"
    )
    lab.remove(settings)
    return figure
