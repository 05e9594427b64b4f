"""Two writers on the same gold tables: the day finaliser run again and again on the day the
stream is writing while a replay feeds it. Delta's optimistic concurrency makes one of two
overlapping MERGEs fail with a conflict; writes.retry_conflicts must retry it (in the stream and
in the finaliser), the finaliser must never fail, and no update may be lost: at the end gold
equals an uninterrupted run's."""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter

from stockstream.broker.admin import end_offsets
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, Publisher
from stockstream.chaos.stream_kill import check_instance, reference_gold
from stockstream.completion import behind, processed_offsets
from stockstream.config import Settings

log = logging.getLogger(__name__)

TITLE = "finaliser and stream writing the same gold day"
CONFLICT = "conflicted with a concurrent write"
WRITES_LOGGER = "stockstream.pipeline.writes"
# writes.retry_conflicts' warning: "<what> conflicted with a concurrent write (<exception>); retry ..."
# where <what> is e.g. "merge gold.stock_daily" or "insert silver.transactions".
CONFLICT_RE = re.compile(r"(\w+ [\w.]+) " + CONFLICT)


class ConflictLog(logging.Handler):
    """Counts the conflict retries writes.retry_conflicts logs in this process, per write."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._lock = threading.Lock()
        self.retries: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        writes = CONFLICT_RE.findall(record.getMessage())
        if writes:
            with self._lock:
                self.retries.update(writes)

    def total(self) -> int:
        with self._lock:
            return sum(self.retries.values())


def stream_conflicts(settings: Settings) -> Counter[str]:
    """The conflict retries the stream job logged (its log, all runs), per write."""
    path = settings.log_dir / "stream.log"
    if not path.exists():
        return Counter()
    # The job logs through rich, which wraps long lines: match across the wraps.
    text = " ".join(path.read_text(encoding="utf-8", errors="replace").split())
    return Counter(CONFLICT_RE.findall(text))


def stream_restarts(settings: Settings) -> int:
    """Times the supervisor restarted a failed job (a conflict the stream did not retry would end
    its job)."""
    path = settings.log_dir / "stream.log"
    if not path.exists():
        return 0
    return sum("failed with exit code" in line for line in path.read_text(errors="replace").splitlines())


def caught_up(settings: Settings) -> bool:
    return not behind(processed_offsets(settings), end_offsets(settings))


def run(
    lab: Lab, rng: random.Random, trials: int = 3, publish_seconds: float = 60.0, chunks: int = 60
) -> Figure:
    """`trials` times: a fresh instance and the stream started; the replay of the lab's other days
    published and processed; then one day (drawn) published in `chunks` over `publish_seconds`
    while this process runs the finaliser on that day back to back (in the lab's SparkSession)
    until the stream has processed it all. Passes when the finaliser never raised, the stream
    job never failed, and silver, gold and the finaliser's checks afterwards are those of an
    uninterrupted run (check_instance)."""
    from stockstream.pipeline.finalize import finalize_days

    figure = Figure(TITLE)
    expected = reference_gold(lab)
    handler = ConflictLog()
    writes_log = logging.getLogger(WRITES_LOGGER)
    writes_log.addHandler(handler)
    runs = 0
    stream_total: Counter[str] = Counter()
    try:
        for trial in range(trials):
            day = rng.choice(lab.days)
            settings = lab.instance(f"concurrent-{trial}")
            lab.start_stream(settings)
            before = Publisher(settings, [t for t in lab.txns if lab.day_of(t) != day], lab.day_of)
            before.run()
            lab.wait_caught_up(settings)
            during = Publisher(
                settings,
                [t for t in lab.txns if lab.day_of(t) == day],
                lab.day_of,
                seconds=publish_seconds,
                chunks=chunks,
            )
            retried = handler.total()
            errors: list[str] = []
            during.start()
            time.sleep(rng.uniform(0.0, 2.0))  # the finaliser's MERGEs meet the stream's at varied phases
            trial_runs = 0
            while during.is_alive() or not caught_up(settings):
                try:
                    finalize_days(lab.spark, settings, [day])
                except Exception as exc:  # the finding this scenario reports
                    log.exception("the finaliser failed on %s", day)
                    errors.append(f"the finaliser failed on {day}: {type(exc).__name__}: {str(exc)[:200]}")
                trial_runs += 1
            during.join()
            runs += trial_runs
            errors += [f"the replay failed: {p.error}" for p in (before, during) if p.error is not None]
            lab.record_manifest(settings, before.reports + during.reports)
            lab.wait_caught_up(settings)
            problems = errors + check_instance(lab, settings, figure, expected)
            conflicts = stream_conflicts(settings)
            stream_total.update(conflicts)
            restarts = stream_restarts(settings)
            if restarts:
                problems.append(f"the stream job failed {restarts} times")
            log.info(
                "concurrent trial %d (%s): %d finaliser runs; conflicts retried: %d in the finaliser, "
                "%d in the stream",
                trial,
                day,
                trial_runs,
                handler.total() - retried,
                sum(conflicts.values()),
            )
            figure.trial(not problems, f"{day}: " + "; ".join(problems))
            lab.remove(settings)
    finally:
        writes_log.removeHandler(handler)
    finaliser_total = handler.retries
    figure.notes.append(
        f"{runs} finaliser runs during {trials} replays of a day (the lab's other days before); conflicts "
        f"retried: {sum(stream_total.values())} in the stream ({_per_write(stream_total)}), "
        f"{sum(finaliser_total.values())} in the finaliser ({_per_write(finaliser_total)}); "
        "gold = the five daily tables, compared with an uninterrupted run"
    )
    return figure


def _per_write(counts: Counter[str]) -> str:
    return ", ".join(f"{what} {n}" for what, n in counts.most_common()) or "none"
