"""The streaming job SIGKILLed during a multi-day replay (reduced: 2 trials)."""

from __future__ import annotations

import random

from stockstream.chaos import stream_kill
from stockstream.chaos.lab import Lab


def test_a_sigkilled_stream_ends_with_the_gold_of_an_uninterrupted_run(lab: Lab, rng: random.Random) -> None:
    figure = stream_kill.run(lab, rng, trials=2, publish_seconds=20.0)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (2, 2)
    assert figure.records == 2 * len(lab.txns)
    assert (figure.lost, figure.duplicated) == (0, 0)
    assert len(figure.recovery_seconds) >= 2, "every trial killed the job at least once"
