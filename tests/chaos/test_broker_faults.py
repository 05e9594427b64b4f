"""Broker faults and resource pressure, reduced: the broker SIGKILLed mid-replay and mid-backlog,
retention deleting records a stopped stream had not read, and a small driver heap on a backlog."""

from __future__ import annotations

import random

from stockstream.chaos import broker_kill, pressure, retention
from stockstream.chaos.lab import Lab


def test_a_broker_killed_mid_replay_and_mid_backlog_loses_and_duplicates_nothing(
    lab: Lab, rng: random.Random
) -> None:
    figure = broker_kill.run(
        lab, rng, replay_trials=1, stream_trials=1, publish_seconds=15.0, outage=(5.0, 15.0), give_up_trials=0
    )
    assert lab.broker.is_running(), "the lab's shared broker is left running"
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (2, 2)
    assert figure.records == 2 * len(lab.txns)
    assert (figure.lost, figure.duplicated) == (0, 0)
    assert len(figure.recovery_seconds) == 2
    assert all(0 < seconds < 600 for seconds in figure.recovery_seconds)


def test_retention_deleting_unread_records_is_reported_never_skipped(lab: Lab, rng: random.Random) -> None:
    figure = retention.run(lab, rng, trials=1, watch_seconds=15.0)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (1, 1)
    assert (figure.lost, figure.duplicated) == (0, 0), "every deleted record was reported, then recovered"
    assert "lost undetected: 0" in figure.notes[0]
    assert "DATA LOSS" in figure.notes[0]
    assert len(figure.recovery_seconds) == 1


def test_a_small_heap_works_through_a_backlog_in_bounded_batches(lab: Lab, rng: random.Random) -> None:
    figure = pressure.run(lab, rng, copies=3, driver_memory="512m", batch=2000)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (1, 1)
    assert figure.records == len(lab.txns)
    assert (figure.lost, figure.duplicated) == (0, 0)
    assert "1 job pid(s)" in figure.notes[0]
