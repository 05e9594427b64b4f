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


def test_scaling_benchmark_times_a_day_of_a_larger_universe_stage_by_stage() -> None:
    """The scaling benchmark's smoke run: day_cost.py (the day benchmark) on a 60-ticker universe,
    the packaged 53 and copies of the first 7 under new tickers, parsed into the scaling table."""
    out = smoke("scaling")
    assert "60 tickers x 20 trades: 1,200 records in " in out
    row = re.search(r"^\| 60 \| 1,200 \| ([\d.]+) \| ([\d. |]+) \| ([\d,]+) \| 1\.00 \| 1\.00 \|$", out, re.M)
    assert row is not None, out
    total = float(row.group(1))
    stages = [float(v) for v in row.group(2).split(" | ")]
    # extract, replay, stream, finalize, render: each took time and they add up to the day.
    assert len(stages) == 5 and all(s > 0 for s in stages)
    assert total == pytest.approx(sum(stages), abs=0.3)
    assert int(row.group(3).replace(",", "")) == pytest.approx(1200 / total, abs=1)
    assert "backfill through Airflow" not in out


def test_year_benchmark_renders_and_queries_the_gold_it_built() -> None:
    out = smoke("year")
    # Five weekdays up to 2026-11-20 of 53 tickers, built through silver and the daily gold code.
    assert "# year queries: 5 day(s) 2026-11-16..2026-11-20, 53 tickers x 20 trades" in out
    built = re.search(
        r"^built in \d+s \(.*\): ([\d,]+) silver rows; gold\.stock_daily ([\d,]+) rows", out, re.M
    )
    assert built is not None, out
    # 20 trades per (ticker, day): none of these seeded offline bars needs more to show its range.
    assert built.group(1) == "5,300"
    assert built.group(2) == "265"
    assert "(53 tickers x 5 days)" in out
    assert "render: 5 days, 6 charts and report.html" in out
    # The universe's 9 sectors, each with all five days; the script checked that the CLI and the
    # warm session gave the same rows.
    assert "sql: 9 sectors, days per sector [5]; highest average " in out
    rows = {
        m.group(1): m
        for m in re.finditer(r"^\| ([^|]+?) \| ([\d.]+) \| ([\d., ]+) \| ([^|]+) \|$", out, re.M)
    }
    assert set(rows) == {
        "render (in-process, 6 analyses + report)",
        "stockstream render (process start included)",
        "stockstream sql (JVM start included)",
        "stockstream sql (on the SQL engine of `stockstream up`)",
        "sql query (warm SparkSession)",
    }
    assert re.search(r"^SQL engine warm in \d+s$", out, re.M), out
    for m in rows.values():
        assert m.group(4) == "< 5 s"
        assert m.group(3) == m.group(2)  # one run: the median is that run
        assert float(m.group(2)) > 0


def test_memory_benchmark_samples_every_service_and_the_state_store_day_by_day() -> None:
    out = smoke("memory")
    assert "# memory: 1 day(s) 2026-11-20..2026-11-20, 53 tickers x 20 trades" in out
    days = {
        m.group(1): m
        for m in re.finditer(
            r"^\| (started|\d{4}-\d\d-\d\d) \| ([\d,]+) \| ((?:[\d,]+ / [\d,]+ \| ){5})"
            r"([\d.,]+), ([\d.,]+) \| ([\d,]+), ([\d,]+) \|$",
            out,
            re.M,
        )
    }
    assert list(days) == ["started", "2026-11-20"], out
    # Events so far: 53 tickers x 20 trades; the script checked silver holds every one.
    assert [int(m.group(2).replace(",", "")) for m in days.values()] == [0, 1060]
    for label, m in days.items():
        rss = [int(v.replace(",", "")) for v in re.findall(r"[\d,]+", m.group(3))]
        now, peak = rss[0::2], rss[1::2]
        # broker, stream, SQL engine, Airflow, dashboard: each running, its peak so far at least
        # the last sample.
        assert all(0 < n <= p for n, p in zip(now, peak, strict=True)), (label, m.group(3))
        state = [float(m.group(g).replace(",", "")) for g in (4, 5)]
        keys = [int(m.group(g).replace(",", "")) for g in (6, 7)]
        if label == "started":
            assert keys == [0, 0]
        else:
            # minute_bars keeps the windows the watermark has not closed, alerts one entry per ticker.
            assert all(s > 0 for s in state) and keys[0] > 0, (label, state, keys)
            assert keys[1] == 53, (label, keys)
    peaks = {
        m.group(1): m for m in re.finditer(r"^\| ([^|]+?) \| ([\d,]+) \| ([\d,]+) \| (\d+) \|$", out, re.M)
    }
    assert set(peaks) == {
        "broker",
        "stream",
        "sql engine",
        "Airflow",
        "dashboard",
        "all services (peak of the sum)",
    }
    for m in peaks.values():
        assert int(m.group(2).replace(",", "")) > 0 and int(m.group(4)) > 0
    # The stream: supervisor, driver and Spark's JVM at least; Airflow: its four components.
    assert int(peaks["stream"].group(4)) >= 3
    assert int(peaks["Airflow"].group(4)) >= 4
    assert "state store = the latest version's files of each stateful query" in out
    # One day (the suite's time): the growth verdict says it has nothing to compare with.
    assert "verdict: one day only, nothing to compare the state store with (run --days 2 or more)" in out


def test_freshness_benchmark_sees_every_tick_in_silver_gold_and_the_dashboard() -> None:
    out = smoke("freshness")
    assert re.search(
        r"^# freshness: 200 transactions/s for 10s after a 5s warm-up, ticks of 50 ms; ", out, re.M
    )
    assert "stream: trigger 5 seconds" in out  # Settings' default, as `stockstream up` runs it
    # 200/s for 10 s: 2,000 records measured, after one per ticker (53) and 5 s of warm-up (1,000).
    assert re.search(
        r"^sent: 2,000 records in the measured [\d.]+s = [\d,]+ records/s \(asked 200\); 3,053 ", out, re.M
    )
    assert re.search(r"^drained: gold held every record [\d.]+s after the last send$", out, re.M), out
    assert re.search(r"^dashboard: the price query of \S+ every 0.2s, [\d,]+ answers, 0 failed$", out, re.M)
    rows = {
        m.group(1): m
        for m in re.finditer(
            r"^\| ([^|]+?) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d,]+) \| ([\d,]+) \|$",
            out,
            re.M,
        )
    }
    assert set(rows) == {"silver.transactions", "gold.stock_daily", "dashboard price query"}, out
    # Every 50 ms tick of the 10 s is a sample of silver and gold; the dashboard's are the ticks
    # holding a trade of its ticker (10 records a tick over 53 tickers: 37 or 38 of them).
    assert rows["silver.transactions"].group(6) == rows["gold.stock_daily"].group(6) == "200"
    assert 37 <= int(rows["dashboard price query"].group(6)) <= 38
    for m in rows.values():
        assert m.group(7) == m.group(6)  # every sample became visible, so no percentile is a bound
    assert re.search(r"^gold latency over the window: p50 [\d.]+ s of its first tenth of ticks, ", out, re.M)
    assert re.search(
        r"^gold commits that showed new ticks: [1-9]\d*; age of the newest each showed: ", out, re.M
    )
    assert re.search(r"^backlog (kept growing|steady|cannot tell)", out, re.M)
    assert re.search(r"^goal p95 <= 3 s \(gold and the dashboard's query\): (met|not met)$", out, re.M)
