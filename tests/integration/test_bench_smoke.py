"""`make bench`'s benchmarks run end to end on a tiny load (`stockstream bench --smoke`): speed is
measured there, never asserted here."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from stockstream.config import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_replay_benchmark_reports_every_variant_against_kafkas_tool() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/replay_throughput.py", "--trades", "20", "--runs", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "53 tickers x 20 trades = 1,060 records" in result.stdout
    rows = {
        m.group(1): m
        for m in re.finditer(r"^\| ([^|]+?) \| ([\d,]+) \| [^|]+ \| ([\d.]+) \|$", result.stdout, re.M)
    }
    assert set(rows) == {"kafka ProducerPerformance", "stockstream replay"}
    assert rows["kafka ProducerPerformance"].group(3) == "1.00"
    assert all(int(m.group(2).replace(",", "")) > 0 for m in rows.values())


def smoke(name: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "stockstream.cli", "bench", name, "--smoke"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout


def test_stream_benchmark_reads_the_whole_backlog_beside_sparks_ceiling() -> None:
    out = smoke("stream")
    # One day of 53 tickers x 40 trades; the script itself checks silver holds every record.
    assert "# stream: 2,120 records (1 day(s)" in out
    rows = {
        m.group(1): m for m in re.finditer(r"^\| ([^|]+?) \| ([\d,]+) \| [^|]+ \| ([\d.]+) \|$", out, re.M)
    }
    assert set(rows) == {"Spark ceiling (Kafka -> parse -> noop)", "stockstream stream"}
    assert rows["Spark ceiling (Kafka -> parse -> noop)"].group(3) == "1.00"
    assert all(int(m.group(2).replace(",", "")) > 0 for m in rows.values())


def test_day_cost_benchmark_times_every_stage_of_a_day() -> None:
    out = smoke("day")
    stages = re.search(r"^\| median \| ([\d. |]+) \|$", out, re.M)
    assert stages is not None, out
    seconds = [float(v) for v in stages.group(1).split(" | ")]
    # extract, replay, stream, finalize, render and their total.
    assert len(seconds) == 6
    assert all(s > 0 for s in seconds)
    assert seconds[-1] == pytest.approx(sum(seconds[:-1]), abs=0.3)
    assert re.search(r"finaliser phases \(median\): recompute [\d.]+s, checks [\d.]+s", out)
