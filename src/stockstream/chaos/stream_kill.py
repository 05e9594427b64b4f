"""The streaming job SIGKILLed at random points while a multi-day replay feeds it: after the
supervisor's restarts, gold must equal an uninterrupted run's and the invariants must hold."""

from __future__ import annotations

import logging
import random
import time

from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import (
    DAILY_GOLD,
    Lab,
    gold_hashes,
    invariant_failures,
    silver_account,
)
from stockstream.config import Settings

log = logging.getLogger(__name__)

TITLE = "stream SIGKILL during a multi-day replay"


def reference_gold(lab: Lab) -> dict[str, str]:
    """Gold of an uninterrupted run of the lab's replay (computed once per lab)."""
    cached: dict[str, str] | None = getattr(lab, "_reference_gold", None)
    if cached is not None:
        return cached
    settings = lab.instance("reference")
    service = lab.start_stream(settings)
    publisher = lab.publisher(settings)
    publisher.run()
    if publisher.error is not None:
        raise publisher.error
    lab.record_manifest(settings, publisher.reports)
    lab.wait_caught_up(settings)
    service.stop()
    hashes = gold_hashes(settings)
    lab._reference_gold = hashes  # type: ignore[attr-defined]
    return hashes


def check_instance(lab: Lab, settings: Settings, figure: Figure, expected: dict[str, str]) -> list[str]:
    """Stop the stream, then compare the instance with the uninterrupted run: silver holds each
    published txn_id once, the daily gold tables are identical, and the finaliser's checks
    (invariants 1, 2 and 4) pass. Adds the records, lost and duplicated to the figure; returns
    what failed."""
    from stockstream.services.stream import StreamService

    StreamService(settings).stop()
    account = silver_account(settings, lab.expected_ids())
    figure.records += len(lab.txns)
    figure.lost += account.lost
    figure.duplicated += account.duplicated
    problems = []
    if not account.exact:
        problems.append(f"silver: {account}")
    got = gold_hashes(settings)
    problems += [
        f"{name} differs from the uninterrupted run" for name in DAILY_GOLD if got[name] != expected[name]
    ]
    problems += invariant_failures(lab.finalize(settings))
    return problems


def run(lab: Lab, rng: random.Random, trials: int = 10, publish_seconds: float = 30.0) -> Figure:
    """`trials` times: a fresh instance, the replay published in 30 chunks over `publish_seconds`,
    the job SIGKILLed once or twice at uniformly random moments of the replay (or just after it),
    the supervisor left to restart it; then the checks of check_instance."""
    figure = Figure(TITLE)
    expected = reference_gold(lab)
    for trial in range(trials):
        settings = lab.instance(f"sigkill-{trial}")
        lab.start_stream(settings)
        publisher = lab.publisher(settings, seconds=publish_seconds, chunks=30)
        started = time.monotonic()
        publisher.start()
        moments = sorted(rng.uniform(0, publish_seconds + 10) for _ in range(rng.randint(1, 2)))
        for moment in moments:
            time.sleep(max(0.0, started + moment - time.monotonic()))
            killed = lab.kill_stream_job(settings)
            log.info("trial %d: killed the job (pid %d) at %.1fs", trial, killed, time.monotonic() - started)
            figure.recovery_seconds.append(lab.wait_restarted(settings, killed))
        publisher.join()
        if publisher.error is not None:
            figure.trial(False, f"the replay failed: {publisher.error}")
            continue
        lab.record_manifest(settings, publisher.reports)
        lab.wait_caught_up(settings)
        problems = check_instance(lab, settings, figure, expected)
        figure.trial(not problems, "; ".join(problems))
        lab.remove(settings)
    figure.notes.append(
        f"{len(figure.recovery_seconds)} kills over {trials} trials of {len(lab.days)} days; recovery = kill "
        "to the restarted job running; gold = the five daily tables, compared with an uninterrupted run"
    )
    return figure
