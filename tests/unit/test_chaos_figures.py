"""RELIABILITY.md's tables: one per mode, a row per scenario that a later run of the same scenario
replaces, the other rows left as they were, and each row saying which run made it."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockstream.chaos.figures import HEADER, Figure, markers, table_rows, write_section

pytestmark = pytest.mark.unit


def figure(name: str, passed: int, seconds: float = 120.0) -> Figure:
    made = Figure(name, trials=2, passed=passed, records=1_000, seconds=seconds)
    made.notes.append(f"{name} notes")
    return made


def test_a_scenario_run_alone_replaces_its_row_and_keeps_the_others(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    report.write_text("# Reliability\n\nprose before\n", encoding="utf-8")
    write_section(report, [figure("kill", 2), figure("retention", 1)], mode="full", seed=7, command="c1")
    write_section(report, [figure("kill", 1, seconds=600)], mode="full", seed=3, command="c2")
    text = report.read_text(encoding="utf-8")
    rows = table_rows(text, "full")
    assert [row.split(" | ")[0] for row in rows] == ["| kill", "| retention"]
    kill, retention = rows
    assert "seed 3, 10 min" in kill and "| 1/2 |" in kill, kill
    assert "seed 7, 2 min" in retention and "| 1/2 |" in retention, retention
    assert text.startswith("# Reliability\n\nprose before\n")
    assert text.count(HEADER) == 1 and "by `c2`" in text and "c1" not in text


def test_the_full_and_the_reduced_tables_are_apart(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    write_section(report, [figure("kill", 2)], mode="reduced", seed=7, command="reduced run")
    write_section(report, [figure("kill", 1)], mode="full", seed=7, command="full run")
    text = report.read_text(encoding="utf-8")
    assert "| 2/2 |" in table_rows(text, "reduced")[0]
    assert "| 1/2 |" in table_rows(text, "full")[0]
    assert all(marker in text for marker in (*markers("full"), *markers("reduced")))


def test_a_new_scenario_is_added_after_the_rows_already_there(tmp_path: Path) -> None:
    report = tmp_path / "RELIABILITY.md"
    write_section(report, [figure("b", 2)], mode="full", seed=1, command="c")
    write_section(report, [figure("a", 2)], mode="full", seed=1, command="c")
    assert [row.split(" | ")[0] for row in table_rows(report.read_text(encoding="utf-8"), "full")] == [
        "| b",
        "| a",
    ]


def test_the_committed_reliability_md_has_both_tables_with_the_run_column() -> None:
    text = (Path(__file__).parents[2] / "RELIABILITY.md").read_text(encoding="utf-8")
    for mode in ("full", "reduced"):
        begin, end = markers(mode)
        assert text.count(begin) == 1 and text.count(end) == 1
        assert text.index(HEADER, text.index(begin)) < text.index(end)
    assert all(row.count(" | ") == 7 for row in table_rows(text, "reduced"))
