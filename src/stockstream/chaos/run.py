"""`stockstream chaos`: run the scenarios in one lab and record their figures in RELIABILITY.md."""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from stockstream.chaos import (
    airflow_faults,
    broker_kill,
    concurrent,
    late,
    malformed,
    pressure,
    retention,
    stream_kill,
    stress,
)
from stockstream.chaos.figures import Figure, write_section
from stockstream.chaos.lab import Lab

log = logging.getLogger(__name__)

FIRST_DAY, LAST_DAY = date(2026, 10, 5), date(2026, 10, 7)


@dataclass(frozen=True)
class Scenario:
    """A scenario and its parameters in the full run (`make chaos`) and the reduced one (tests).
    A lab scenario runs as run(lab, rng, **params) -> Figure in the shared lab; a platform one as
    run(root, rng, **params) -> [Figure] on a whole platform of its own (`stockstream up`), after
    the lab is closed so that the two never hold memory at once."""

    name: str
    run: Callable[..., Any]
    full: dict[str, Any]
    reduced: dict[str, Any]
    platform: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("stream-sigkill", stream_kill.run, {"trials": 10}, {"trials": 2, "publish_seconds": 20.0}),
        Scenario(
            "malformed-input",
            malformed.run,
            {"bad": 20_000, "variants": 1_000, "chunks": 8, "publish_seconds": 30.0, "trials": 2},
            {"bad": 10_000, "valid": 1_000, "variants": 300, "chunks": 3, "publish_seconds": 6.0},
        ),
        Scenario(
            "broker-sigkill",
            broker_kill.run,
            {"replay_trials": 3, "stream_trials": 3, "give_up_trials": 1},
            {
                "replay_trials": 1,
                "stream_trials": 1,
                "publish_seconds": 15.0,
                "outage": (5.0, 15.0),
                "give_up_trials": 0,
            },
        ),
        Scenario("kafka-retention", retention.run, {"trials": 3}, {"trials": 1, "watch_seconds": 15.0}),
        Scenario(
            "small-heap-backlog", pressure.run, {"copies": 10, "batch": 5000}, {"copies": 3, "batch": 2000}
        ),
        Scenario("late-events", late.run, {"rounds": 6}, {"rounds": 2}),
        Scenario(
            "concurrent-writers",
            concurrent.run,
            {"trials": 3},
            {"trials": 1, "publish_seconds": 30.0, "chunks": 30},
        ),
        Scenario(
            "random-stress",
            stress.run,
            {"steps": 24},
            {"steps": 7, "max_chunk": 400, "kill_within": 6.0},
        ),
        Scenario(
            "airflow-task-kill",
            airflow_faults.run_platform,
            {"days": 2, "tasks": ("finalize", "extract"), "clears": 1},
            {"days": 2, "tasks": ("finalize",), "clears": 1},
            platform=True,
        ),
    )
}


def run_scenarios(
    root: Path,
    names: Sequence[str],
    *,
    reduced: bool,
    seed: int,
    on_figure: Callable[[Figure], None] | None = None,
) -> list[Figure]:
    """Each named lab scenario in one lab (a broker, the template lakehouse), then each platform
    scenario on its own platform, every one seeded by `seed`."""
    figures: list[Figure] = []
    chosen = [SCENARIOS[name] for name in names]

    def done(scenario: Scenario, made: list[Figure], started: float) -> None:
        ok = all(figure.ok for figure in made)
        seconds = time.monotonic() - started
        log.info("%s: %s in %.0fs", scenario.name, "ok" if ok else "FAILED", seconds)
        for figure in made:
            figure.seconds = seconds
            figures.append(figure)
            if on_figure is not None:
                on_figure(figure)

    def params(scenario: Scenario) -> tuple[random.Random, dict[str, Any]]:
        rng = random.Random(f"{seed}-{scenario.name}")  # noqa: S311 - reproducible, not secret
        return rng, scenario.reduced if reduced else scenario.full

    in_lab = [scenario for scenario in chosen if not scenario.platform]
    if in_lab:
        with Lab.open(root / "lab", FIRST_DAY, LAST_DAY) as lab:
            for scenario in in_lab:
                started = time.monotonic()
                rng, kwargs = params(scenario)
                done(scenario, [scenario.run(lab, rng, **kwargs)], started)
    for scenario in chosen:
        if scenario.platform:
            started = time.monotonic()
            rng, kwargs = params(scenario)
            done(scenario, scenario.run(root / scenario.name, rng, **kwargs), started)
    return figures


def chaos(
    names: Sequence[str],
    *,
    reduced: bool,
    seed: int,
    report: Path | None,
    command: str,
    keep: Path | None = None,
    on_figure: Callable[[Figure], None] | None = None,
) -> list[Figure]:
    """Run the scenarios in a scratch folder (or `keep`). With `report`, each scenario's figure goes
    into that file's table as soon as the scenario ends, so a run stopped half-way keeps what it
    measured."""
    mode = "reduced" if reduced else "full"

    def record(figure: Figure) -> None:
        if report is not None:
            write_section(report, [figure], mode=mode, seed=seed, command=command)
        if on_figure is not None:
            on_figure(figure)

    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        figures = run_scenarios(keep, names, reduced=reduced, seed=seed, on_figure=record)
    else:
        with tempfile.TemporaryDirectory(prefix="stockstream-chaos-") as scratch:
            figures = run_scenarios(Path(scratch), names, reduced=reduced, seed=seed, on_figure=record)
    return figures
