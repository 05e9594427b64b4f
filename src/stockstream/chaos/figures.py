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

BEGIN = "<!-- chaos:begin -->"
END = "<!-- chaos:end -->"


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

    def row(self) -> str:
        notes = "; ".join(self.notes + self.failures) or "-"
        cells = [
            self.scenario,
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


def table(figures: Sequence[Figure], *, mode: str, seed: int, command: str, minutes: float) -> str:
    """The RELIABILITY.md section of one chaos run."""
    lines = [
        BEGIN,
        f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, Python {platform.python_version()}; "
        f"mode {mode}, seed {seed}, {minutes:.0f} min: `{command}`",
        "",
        "| scenario | trials passed | records | lost | duplicated | recovery | notes |",
        "|---|---|---|---|---|---|---|",
        *(figure.row() for figure in figures),
        END,
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Replace the generated section of `path` (between the markers), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text, encoding="utf-8")
