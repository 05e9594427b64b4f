"""What a chaos scenario found, and the table of RELIABILITY.md that records it."""

from __future__ import annotations

import platform
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil

HEADER = "| scenario | run | trials passed | records | lost | duplicated | recovery | notes |"
RULE = "|---|---|---|---|---|---|---|---|"


def markers(mode: str) -> tuple[str, str]:
    """The comments around the generated table of one mode ("full" or "reduced")."""
    return f"<!-- chaos:{mode}:begin -->", f"<!-- chaos:{mode}:end -->"


@dataclass
class Figure:
    """One scenario's result: `passed` of `trials` held every check; `records` went in, `lost` of
    them are missing from silver/gold, `duplicated` are there more than once."""

    scenario: str
    trials: int = 0
    passed: int = 0
    records: int = 0
    lost: int = 0
    duplicated: int = 0
    recovery_seconds: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0  # how long the scenario ran (set by the runner)

    def trial(self, ok: bool, failure: str = "") -> None:
        """Count one trial; a failed one keeps its reason."""
        self.trials += 1
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"trial {self.trials}: {failure}")

    @property
    def ok(self) -> bool:
        return self.trials > 0 and self.passed == self.trials and self.lost == 0 and self.duplicated == 0

    def recovery(self) -> str:
        """'median 21.4 s, max 30.2 s' (or '-' when the scenario has no recovery to time)."""
        if not self.recovery_seconds:
            return "-"
        times = self.recovery_seconds
        return f"median {statistics.median(times):.1f} s, max {max(times):.1f} s"

    def row(self, run: str = "") -> str:
        """The figure as a row of RELIABILITY.md's table; `run` says which run it came from."""
        notes = "; ".join(self.notes + self.failures) or "-"
        cells = [
            self.scenario,
            *([run] if run else []),
            f"{self.passed}/{self.trials}",
            f"{self.records:,}",
            f"{self.lost:,}",
            f"{self.duplicated:,}",
            self.recovery(),
            notes.replace("|", "/"),
        ]
        return "| " + " | ".join(cells) + " |"


def machine() -> str:
    """'Linux x86_64, 2 cores, 24 GiB' for the report's header."""
    memory = psutil.virtual_memory().total / 2**30
    return f"{platform.system()} {platform.machine()}, {psutil.cpu_count()} cores, {memory:.0f} GiB"


def run_cell(figure: Figure, *, seed: int) -> str:
    """'2026-11-24 16:50 UTC, seed 7, 41 min': when the figure was made (its scenario's end), the
    seed, and how long the scenario took."""
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, seed {seed}, {figure.seconds / 60:.0f} min"


def section_pattern(mode: str) -> re.Pattern[str]:
    """The mode's generated section, markers included; group 1 is what lies between them."""
    begin, end = markers(mode)
    return re.compile(re.escape(begin) + r"(.*?)" + re.escape(end), re.DOTALL)


def table_rows(text: str, mode: str) -> list[str]:
    """The table rows of the mode's section in `text` (none when there is no such section)."""
    found = section_pattern(mode).search(text)
    if found is None:
        return []
    lines = [line for line in found.group(1).splitlines() if line.startswith("| ")]
    return [line for line in lines if line not in (HEADER, RULE)]


def scenario_of(row: str) -> str:
    return row.split("|")[1].strip()


def write_section(path: Path, figures: Sequence[Figure], *, mode: str, seed: int, command: str) -> None:
    """Put the figures into the mode's table of `path` (appended when missing).

    A scenario's row replaces the row of the same scenario from an earlier run; the rows of the
    scenarios this run left out stay as they were, each saying which run made it. So the full run
    can be recorded a scenario at a time (`stockstream chaos --scenario NAME --report FILE`)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    fresh = {figure.scenario: figure.row(run_cell(figure, seed=seed)) for figure in figures}
    rows = [fresh.pop(scenario_of(row), row) for row in table_rows(text, mode)]
    rows += fresh.values()  # scenarios the table had no row for yet, in the run's order
    begin, end = markers(mode)
    section = "\n".join(
        [
            begin,
            f"Last written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, "
            f"Python {platform.python_version()}, by `{command}`.",
            "",
            HEADER,
            RULE,
            *rows,
            end,
        ]
    )
    pattern = section_pattern(mode)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text, encoding="utf-8")
