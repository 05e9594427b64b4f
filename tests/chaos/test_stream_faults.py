"""Stream faults, reduced: late and out-of-order events against the minute-bar watermark, the
finaliser and the stream writing the same gold day, and a seeded random publish / stop / start /
kill sequence with the exact expected state checked after every step."""

from __future__ import annotations

import random
import re

from stockstream.chaos import concurrent, late, stress
from stockstream.chaos.lab import Lab


def test_late_events_count_within_the_watermark_and_the_finaliser_picks_up_the_rest(
    lab: Lab, rng: random.Random
) -> None:
    figure = late.run(lab, rng, rounds=2, tickers=3)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (3, 3), "two rounds and the day as a whole"
    assert (figure.lost, figure.duplicated) == (0, 0)
    counts = re.search(
        r"within the watermark: (\d+) of (\d+) counted by the stream; beyond it: (\d+) of (\d+) missed "
        r"by the stream, (\d+) picked up by the finaliser",
        figure.notes[0],
    )
    assert counts is not None, figure.notes
    counted, within, missed, beyond, picked = map(int, counts.groups())
    # 2 rounds x 3 tickers x 1-3 trades of each kind.
    assert 6 <= within <= 18 and 6 <= beyond <= 18
    assert counted == within
    assert missed == picked == beyond
    # Each round: on-time, within and beyond trades plus one advancing trade; and the closing one.
    assert figure.records > within + beyond + 2


def test_the_finaliser_and_the_stream_writing_one_day_lose_no_update(lab: Lab, rng: random.Random) -> None:
    figure = concurrent.run(lab, rng, trials=1, publish_seconds=30.0, chunks=30)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (1, 1)
    assert figure.records == len(lab.txns)
    assert (figure.lost, figure.duplicated) == (0, 0)
    runs = re.match(r"(\d+) finaliser runs", figure.notes[0])
    assert runs is not None, figure.notes
    assert int(runs.group(1)) >= 2, "the finaliser ran while the stream was writing, more than once"


def test_random_publish_stop_start_kill_steps_keep_the_exact_state(lab: Lab, rng: random.Random) -> None:
    steps = 7
    figure = stress.run(lab, rng, steps=steps, max_chunk=400, kill_within=6.0)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (steps, steps)
    assert 0 < figure.records <= len(lab.txns)
    assert (figure.lost, figure.duplicated) == (0, 0)
    counts = figure.notes[0].split(";")[0]  # "7 steps: 2 publish, 1 again, 1 stop, 1 start, 2 kill"
    kinds = {kind: int(n) for n, kind in re.findall(r"(\d+) (publish|again|stop|start|kill)\b", counts)}
    assert set(kinds) == stress.EVERY_KIND and min(kinds.values()) >= 1, figure.notes
    assert sum(kinds.values()) == steps
    assert len(figure.recovery_seconds) == kinds["kill"]
