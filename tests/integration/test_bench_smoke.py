"""`make bench`'s replay benchmark runs end to end (on a tiny load: speed is measured there,
never asserted here)."""

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
    assert set(rows) == {"kafka ProducerPerformance", "replay, 1 producer", "replay, parallel"}
    assert rows["kafka ProducerPerformance"].group(3) == "1.00"
    assert all(int(m.group(2).replace(",", "")) > 0 for m in rows.values())
