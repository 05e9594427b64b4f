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

from stockstream.chaos import broker_kill, malformed, pressure, retention, stream_kill
from stockstream.chaos.figures import Figure, table, write_section
from stockstream.chaos.lab import Lab

log = logging.getLogger(__name__)

FIRST_DAY, LAST_DAY = date(2026, 10, 5), date(2026, 10, 7)


@dataclass(frozen=True)
class Scenario:
    """A scenario and its parameters in the full run (`make chaos`) and the reduced one (tests)."""

    name: str
    run: Callable[..., Figure]
    full: dict[str, Any]
    reduced: dict[str, Any]


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
    """Each named scenario in one lab (a broker, the template lakehouse), seeded by `seed`."""
    figures = []
    with Lab.open(root, FIRST_DAY, LAST_DAY) as lab:
        for name in names:
            scenario = SCENARIOS[name]
            started = time.monotonic()
            rng = random.Random(f"{seed}-{name}")  # noqa: S311 - reproducible, not secret
            figure = scenario.run(lab, rng, **(scenario.reduced if reduced else scenario.full))
            log.info("%s: %s in %.0fs", name, "ok" if figure.ok else "FAILED", time.monotonic() - started)
            figures.append(figure)
            if on_figure is not None:
                on_figure(figure)
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
    """Run the scenarios in a scratch folder (or `keep`); write the RELIABILITY.md section."""
    started = time.monotonic()
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        figures = run_scenarios(keep, names, reduced=reduced, seed=seed, on_figure=on_figure)
    else:
        with tempfile.TemporaryDirectory(prefix="stockstream-chaos-") as scratch:
            figures = run_scenarios(Path(scratch), names, reduced=reduced, seed=seed, on_figure=on_figure)
    if report is not None:
        section = table(
            figures,
            mode="reduced" if reduced else "full",
            seed=seed,
            command=command,
            minutes=(time.monotonic() - started) / 60,
        )
        write_section(report, section)
    return figures
