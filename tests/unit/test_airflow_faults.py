"""How an Airflow fault's run is judged: tables compared by hash, row differences counted as lost
or duplicated, a trial failing on any changed table, an unsuccessful run or a missed kill."""

from __future__ import annotations

from stockstream.chaos.airflow_faults import RunOutcome, Snapshot, conclude
from stockstream.chaos.figures import Figure


def outcome(state: str = "success", recovery: float | None = 80.0) -> RunOutcome:
    return RunOutcome(
        run_id="manual__1",
        state=state,
        tries={"finalize": 2},
        task_states={"finalize": "success"},
        recovery_seconds=recovery,
    )


BEFORE = Snapshot(rows={"a": 10, "b": 5, "c": 3}, hashes={"a": "h1", "b": "h2", "c": "h3"})


def test_unchanged_tables_pass_and_count_every_row() -> None:
    figure, run = Figure("x"), outcome()
    conclude(figure, run, BEFORE, Snapshot(dict(BEFORE.rows), dict(BEFORE.hashes)), "finalize")
    assert (figure.trials, figure.passed, figure.records, figure.lost, figure.duplicated) == (1, 1, 18, 0, 0)
    assert figure.recovery_seconds == [80.0] and run.changed == [] and figure.ok


def test_changed_tables_fail_with_their_row_differences() -> None:
    after = Snapshot(rows={"a": 8, "b": 7, "c": 3}, hashes={"a": "x", "b": "y", "c": "z"})
    figure, run = Figure("x"), outcome()
    conclude(figure, run, BEFORE, after, "finalize")
    assert run.changed == ["a", "b", "c"]
    assert (figure.trials, figure.passed, figure.lost, figure.duplicated) == (1, 0, 2, 2)
    assert figure.failures == ["trial 1: finalize: tables changed: a, b, c"]


def test_a_failed_run_is_a_failed_trial_without_a_recovery_time() -> None:
    figure, run = Figure("x"), outcome(state="failed")
    run.problems.append("the run ended failed")
    conclude(figure, run, BEFORE, BEFORE, "clear")
    assert (figure.trials, figure.passed, figure.recovery_seconds) == (1, 0, [])
    assert figure.failures == ["trial 1: clear: the run ended failed"]
