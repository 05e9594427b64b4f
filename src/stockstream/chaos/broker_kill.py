"""The broker SIGKILLed and restarted, once while a replay is sending and once while the stream
works through a backlog: afterwards silver holds every txn_id once, gold equals an uninterrupted
run's and the finaliser's checks pass; a replay the outage broke says so, and that it is safe to
run again."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from stockstream import lake
from stockstream.broker.admin import end_offsets
from stockstream.broker.replay import CLOSE_TIMEOUT, FLUSH_TIMEOUT, SEND_BLOCK_MS, ReplayReport, publish
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, kill_tree, stream_job_pid
from stockstream.chaos.stream_kill import check_instance, reference_gold
from stockstream.completion import processed_offsets, wait_processed
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction
from stockstream.services.stream import StreamService
from stockstream.tables import BRONZE_TRANSACTIONS

log = logging.getLogger(__name__)

TITLE = "broker SIGKILL mid-replay and mid-stream"
GIVE_UP_SECONDS = SEND_BLOCK_MS / 1000 + FLUSH_TIMEOUT + CLOSE_TIMEOUT + 60.0
"""How long a replay may take to fail once the broker is gone or to finish once it is back, before
the scenario calls it hung: past the replay's own bound (a blocked send, the bounded flush, the
close), with a minute to spare."""
SAFE_AGAIN = "safe to run again"
"""What a replay broken by the broker must tell the user (broker/replay.py's hint)."""


def paced(txns: Sequence[Transaction], seconds: float) -> Iterator[Transaction]:
    """The transactions spread evenly over `seconds`: a replay that is still sending when the
    broker dies (a `stockstream replay --speed` run, without the nights of event time)."""
    started = time.monotonic()
    for i, txn in enumerate(txns):
        delay = started + seconds * i / len(txns) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield txn


class Replay(threading.Thread):
    """One publish() of the lab's transactions (one producer, as `stockstream replay` runs it)
    in a thread; `report` when it finished, `error` when it failed."""

    def __init__(self, lab: Lab, settings: Settings, txns: Iterable[Transaction]) -> None:
        super().__init__(daemon=True, name=f"replay-{settings.topic}")
        self.lab = lab
        self.settings = settings
        self.txns = txns
        self.report: ReplayReport | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.report = publish(self.settings, self.txns, day_of=self.lab.day_of)
        except BaseException as exc:  # handed to the scenario, which reports it
            self.error = exc


def kill_broker(lab: Lab) -> int:
    """SIGKILL the lab's broker JVM (no clean shutdown, as a crash or the OOM killer would)."""
    pid = lab.broker.process.pid()
    if pid is None:
        raise StockstreamError("the lab's broker is not running")
    kill_tree(pid)
    return pid


def ensure_broker(lab: Lab) -> None:
    """Leave the lab's shared broker running for whatever comes next."""
    if not lab.broker.is_running():
        lab.broker.start()


@dataclass
class Outage:
    """One broker kill: for how long, how far the stream had read, how the stream and the
    replay took it."""

    down_seconds: float
    at: str = ""  # how far the stream had read when the broker died
    recovery_seconds: float = 0.0
    job_restarts: int = 0
    replay_failure: str | None = None  # the message of a replay the outage broke
    replay_hung: bool = False  # neither failed nor finished within GIVE_UP_SECONDS
    replay_reran: bool = False


def restart_and_wait(lab: Lab, settings: Settings, down: float, killed_at: float, outage: Outage) -> None:
    """Keep the broker down until `down` seconds after `killed_at`, start it again, and time how
    long silver takes to process every record the restarted broker holds."""
    time.sleep(max(0.0, killed_at + down - time.monotonic()))
    lab.broker.start()
    restarted = time.monotonic()
    held = end_offsets(settings)
    missing = wait_processed(settings, held, timeout=600, interval=0.5)
    if missing:
        raise StockstreamError(f"silver did not catch up within 600s after the broker restart: {missing}")
    outage.recovery_seconds = time.monotonic() - restarted


def describe_end(replay: Replay) -> str:
    if replay.is_alive():
        return "has neither finished nor failed"
    return f"failed: {replay.error}" if replay.error is not None else "finished"


def run_again(lab: Lab, settings: Settings, outage: Outage, error: BaseException | None) -> ReplayReport:
    """What the user does with a replay the outage broke (failed, or hung: None): run the whole
    replay again."""
    if error is not None:
        outage.replay_failure = str(error)
    log.info("%s: running the replay again after: %s", settings.topic, error or "a replay that hung")
    rerun = Replay(lab, settings, lab.txns)
    rerun.run()
    if rerun.error is not None or rerun.report is None:
        raise StockstreamError(f"the replay failed again after the broker restart: {rerun.error}")
    outage.replay_reran = True
    return rerun.report


def replay_trial(
    lab: Lab, rng: random.Random, settings: Settings, publish_seconds: float, down: float | None
) -> Outage:
    """The broker killed while a paced replay sends; restarted after `down` seconds (None: once
    the replay has given up). A replay the outage broke is run again whole, as its message tells
    the user to."""
    lab.start_stream(settings)
    first_job = stream_job_pid(settings)
    replay = Replay(lab, settings, paced(lab.txns, publish_seconds))
    replay.start()
    time.sleep(rng.uniform(0.2, 0.7) * publish_seconds)
    killed_at = time.monotonic()
    kill_broker(lab)
    if down is None:
        replay.join(GIVE_UP_SECONDS)
        down = time.monotonic() - killed_at
        log.info("%s: %.0fs after the broker died the replay %s", settings.topic, down, describe_end(replay))
    else:
        log.info("%s: broker killed mid-replay, down for %.0fs", settings.topic, down)
    outage = Outage(down)
    restart_and_wait(lab, settings, down, killed_at, outage)
    replay.join(GIVE_UP_SECONDS)
    reports = [replay.report] if replay.report is not None else []
    if replay.is_alive():
        # Neither failed nor finished, broker back or not: the user's Ctrl-C, then a re-run.
        outage.replay_hung = True
        reports = [run_again(lab, settings, outage, None)]
    elif replay.error is not None:
        reports = [run_again(lab, settings, outage, replay.error)]
    lab.record_manifest(settings, reports)
    lab.wait_caught_up(settings)
    outage.job_restarts = int(stream_job_pid(settings) != first_job)
    return outage


def stream_trial(lab: Lab, rng: random.Random, settings: Settings, down: float) -> Outage:
    """The whole replay published while the stream runs, the broker killed once bronze (the
    Kafka source) has read a random share of that backlog, with more to read; restarted after
    `down` seconds."""
    lab.start_stream(settings)
    first_job = stream_job_pid(settings)
    replay = Replay(lab, settings, lab.txns)
    replay.run()
    if replay.error is not None or replay.report is None:
        raise StockstreamError(f"the replay failed before the fault: {replay.error}")
    total = replay.report.sent
    share = rng.uniform(0.1, 0.6)

    def read() -> int:
        return len(lake.read(settings, BRONZE_TRANSACTIONS, columns=["offset"]))

    deadline = time.monotonic() + 600
    while read() < share * total and time.monotonic() < deadline:
        time.sleep(0.2)
    killed_at = time.monotonic()
    kill_broker(lab)
    silver = sum(processed_offsets(settings).values())
    outage = Outage(down, at=f"bronze {read():,}/{total:,}, silver {silver:,}")
    log.info("%s: broker killed with %s records read, down for %.0fs", settings.topic, outage.at, down)
    restart_and_wait(lab, settings, down, killed_at, outage)
    lab.record_manifest(settings, [replay.report])
    outage.job_restarts = int(stream_job_pid(settings) != first_job)
    return outage


def run(
    lab: Lab,
    rng: random.Random,
    *,
    replay_trials: int = 3,
    stream_trials: int = 3,
    publish_seconds: float = 30.0,
    outage: tuple[float, float] = (5.0, 30.0),
    give_up_trials: int = 1,
    backlog_batch: int = 1000,
) -> Figure:
    """`replay_trials` kills mid-replay and `stream_trials` kills mid-backlog, each in a fresh
    instance with the broker down for a random `outage` (seconds); then `give_up_trials` kills
    mid-replay with the broker kept down until the replay gives up (the producer's delivery
    timeout, 120 s), to see what the user is told. The stream instances read the backlog in
    micro-batches of `backlog_batch` records, so the kill lands between batches. Each trial ends
    with check_instance; recovery = broker restart to silver having processed everything the
    restarted broker held."""
    figure = Figure(TITLE)
    expected = reference_gold(lab)
    plan: list[tuple[str, float | None]] = [
        *(("replay", rng.uniform(*outage)) for _ in range(replay_trials)),
        *(("stream", rng.uniform(*outage)) for _ in range(stream_trials)),
        *(("give-up", None) for _ in range(give_up_trials)),
    ]
    outages: list[tuple[str, Outage]] = []
    try:
        for trial, (kind, down) in enumerate(plan):
            extra = {"max_offsets_per_trigger": backlog_batch} if kind == "stream" else {}
            settings = lab.instance(f"broker-{kind}-{trial}", **extra)
            try:
                if kind == "stream":
                    assert down is not None
                    result = stream_trial(lab, rng, settings, down)
                else:
                    result = replay_trial(lab, rng, settings, publish_seconds, down)
            except StockstreamError as exc:
                ensure_broker(lab)
                figure.trial(False, f"{kind}: {exc} (logs kept in {settings.log_dir})")
                StreamService(settings).stop()
                continue
            outages.append((kind, result))
            figure.recovery_seconds.append(result.recovery_seconds)
            problems = check_instance(lab, settings, figure, expected)
            if result.replay_failure is not None and SAFE_AGAIN not in result.replay_failure:
                problems.append(
                    f"the broken replay did not say it is {SAFE_AGAIN}: {result.replay_failure!r}"
                )
            if result.replay_hung:
                problems.append(
                    f"the replay neither failed nor finished within {GIVE_UP_SECONDS:.0f}s of the broker "
                    "dying, nor after it came back (the producer stopped retrying without failing)"
                )
            elif kind == "give-up" and result.replay_failure is None:
                problems.append("the replay did not fail although the broker stayed down")
            figure.trial(not problems, f"{kind}: " + "; ".join(problems))
            lab.remove(settings)
    finally:
        ensure_broker(lab)
    figure.notes.append(describe(outages, len(lab.days)))
    return figure


def describe(outages: list[tuple[str, Outage]], days: int) -> str:
    """The figure's note: what each kind of kill did to the replay and the stream."""
    parts = []
    for kind in ("replay", "stream", "give-up"):
        mine = [o for k, o in outages if k == kind]
        if not mine:
            continue
        downs = ", ".join(f"{o.down_seconds:.0f}" for o in mine)
        restarted = sum(o.job_restarts for o in mine)
        text = f"{kind}: {len(mine)} kills (broker down {downs} s), stream job restarted in {restarted}"
        if kind == "stream":
            text += " (killed at " + "; ".join(o.at for o in mine) + " records read)"
        else:
            broke = [o for o in mine if o.replay_failure is not None]
            hung = [o for o in mine if o.replay_hung]
            text += (
                f", {len(mine) - len(broke) - len(hung)} replays rode out the outage, "
                f"{len(broke)} failed and {len(hung)} hung and were run again"
            )
            if broke:
                text += f"; the replay said: {broke[0].replay_failure!r}"
        parts.append(text)
    return (
        f"{days} days; recovery = broker restart to silver having processed everything the broker held; "
        + " / ".join(parts)
    )
