"""`stockstream chaos`: which scenarios exist, the error for an unknown one, and the order they
run in (the lab's scenarios in one lab, then each platform scenario once the lab is closed)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stockstream.chaos import run
from stockstream.chaos.figures import Figure
from stockstream.cli import app

pytestmark = pytest.mark.unit

ISSUE_SCENARIOS = {
    "stream-sigkill",
    "broker-sigkill",
    "airflow-task-kill",
    "malformed-input",
    "late-events",
    "concurrent-writers",
    "random-stress",
    "kafka-retention",
    "small-heap-backlog",
}


def test_every_scenario_of_the_issue_is_registered_with_a_full_and_a_reduced_form() -> None:
    assert set(run.SCENARIOS) == ISSUE_SCENARIOS
    assert [name for name, s in run.SCENARIOS.items() if s.platform] == ["airflow-task-kill"]
    assert run.SCENARIOS["stream-sigkill"].full["trials"] >= 10


def test_an_unknown_scenario_is_refused_with_the_names_to_choose_from() -> None:
    result = CliRunner().invoke(app, ["chaos", "--scenario", "stream-kill"])
    assert result.exit_code == 2
    assert "unknown scenario stream-kill" in result.output
    assert "late-events" in result.output and "airflow-task-kill" in result.output
    assert "Traceback" not in result.output


def test_lab_scenarios_share_one_lab_and_platform_ones_run_after_it_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    @contextmanager
    def lab_open(root: Path, *_: Any, **__: Any) -> Iterator[str]:
        events.append(f"open {root.name}")
        yield "the lab"
        events.append("close")

    def in_lab(name: str) -> Any:
        def scenario(lab: str, rng: random.Random, **params: Any) -> Figure:
            events.append(f"{name} in {lab} {params}")
            return Figure(name)

        return scenario

    def platform(root: Path, rng: random.Random, **params: Any) -> list[Figure]:
        events.append(f"platform in {root.name} {params}")
        return [Figure("kill"), Figure("clear")]

    monkeypatch.setattr(run.Lab, "open", lab_open)
    monkeypatch.setattr(
        run,
        "SCENARIOS",
        {
            "p": run.Scenario("p", platform, {"days": 2}, {"days": 1}, platform=True),
            "a": run.Scenario("a", in_lab("a"), {"trials": 10}, {"trials": 2}),
            "b": run.Scenario("b", in_lab("b"), {"steps": 24}, {"steps": 7}),
        },
    )
    seen: list[str] = []
    figures = run.run_scenarios(
        tmp_path, ["p", "a", "b"], reduced=True, seed=7, on_figure=lambda f: seen.append(f.scenario)
    )
    assert events == [
        "open lab",
        "a in the lab {'trials': 2}",
        "b in the lab {'steps': 7}",
        "close",
        "platform in p {'days': 1}",
    ]
    assert [f.scenario for f in figures] == seen == ["a", "b", "kill", "clear"]
