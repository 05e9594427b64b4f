"""The README's `make demo` in an isolated data root with its own ports, then the stream service
(SIGKILLed mid-replay and restarted by its supervisor, gold unchanged), the Airflow path (health,
login, the skeleton DAG run through the scheduler), and `make down` leaving nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from pyspark.sql import SparkSession

from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.market.sources import business_days
from stockstream.pipeline.daily import DAILY_KEYS
from stockstream.services.airflow import AirflowService
from stockstream.services.process import wait_until
from stockstream.tables import BRONZE_TRANSACTIONS, SILVER_QUARANTINE, SILVER_TRANSACTIONS, table
from tests.conftest import isolated_settings

pytestmark = pytest.mark.e2e

# The demo's days (DEMO_DAYS=2): the last two business days before today, as scripts/demo.sh picks.
DAYS = [
    str(day)
    for day in business_days(date.today() - timedelta(days=30), date.today() - timedelta(days=1))[-2:]
]


@dataclass
class Demo:
    settings: Settings
    env: dict[str, str]
    output: str

    @property
    def api(self) -> str:
        return f"{self.settings.airflow_url}/api/v2"

    def token(self) -> str:
        password = AirflowService(self.settings).admin_password()
        assert password, "the API server generated an admin password"
        reply = requests.post(
            f"{self.settings.airflow_url}/auth/token",
            json={"username": "admin", "password": password},
            timeout=10,
        )
        assert reply.status_code in (200, 201), reply.text
        return str(reply.json()["access_token"])


def our_processes(settings: Settings) -> list[str]:
    """Processes started for this data root: their command line or AIRFLOW_HOME points into it."""
    root = str(settings.data_root)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            home = proc.environ().get("AIRFLOW_HOME", "") if "airflow" in cmdline else ""
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if proc.pid != os.getpid() and (root in cmdline or home.startswith(root)):
            found.append(f"{proc.pid}: {cmdline[:160]}")
    return found


def make(target: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    settings = isolated_settings(tmp_path_factory.mktemp("demo-root"), start_timeout=240)
    # Airflow settings of the test process (the DAG tests set some) must not leak into the services.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STOCKSTREAM_"))}
    env = {**inherited, **settings_env(settings), "DEMO_DAYS": "2", "COLUMNS": "200"}
    result = make("demo", env, timeout=900)
    try:
        assert result.returncode == 0, f"make demo failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        yield Demo(settings=settings, env=env, output=result.stdout)
    finally:
        make("down", env, timeout=180)


def test_demo_streams_both_days_into_gold_and_finalises_them(demo: Demo) -> None:
    lines = demo.output.splitlines()
    header = next(i for i, line in enumerate(lines) if "bronze_rows" in line)
    first_row = next(line for line in lines[header + 1 :] if "│" in line)
    values = [cell.strip() for cell in first_row.split("│") if cell.strip()]
    # 53 tickers x 2 days x 400 trades, all valid; one gold.stock_daily row per ticker and day.
    assert values[:4] == ["42400", "42400", "0", "106"], demo.output
    # Five checks per day pass, in finalize's tables and again in the ops.data_quality query.
    assert demo.output.count("│ pass") == 2 * 5 * 2, demo.output
    assert "│ fail" not in demo.output
    assert demo.settings.airflow_url in demo.output
    assert "admin" in demo.output


def test_airflow_reports_every_component_healthy(demo: Demo) -> None:
    body = requests.get(f"{demo.api}/monitor/health", timeout=10).json()
    for component in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert body[component]["status"] == "healthy", body


def test_the_api_is_behind_a_login(demo: Demo) -> None:
    assert requests.get(f"{demo.api}/dags", timeout=10).status_code == 401
    ui = requests.get(demo.settings.airflow_url, timeout=10)
    assert ui.status_code == 200 and "<html" in ui.text.lower()


def stockstream(demo: Demo, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"), *args],
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def lakehouse_hashes(spark: SparkSession, settings: Settings) -> dict[str, str]:
    """Every row of silver and the daily gold tables, updated_at included, canonically ordered."""
    hashes = {}
    for name in (SILVER_TRANSACTIONS, *DAILY_KEYS):
        rows = table(name).read(spark, settings)
        text = sorted(
            json.dumps(r.asDict(recursive=True), default=str, sort_keys=True) for r in rows.collect()
        )
        hashes[name] = hashlib.sha256("\n".join(text).encode()).hexdigest()
    return hashes


def last_batch(folder: Path) -> int:
    """The highest micro-batch id with a file in a checkpoint folder (offsets/ or commits/)."""
    ids = [int(path.name) for path in folder.glob("*") if path.name.isdigit()]
    return max(ids, default=-1)


def stream_status(settings: Settings) -> dict[str, Any]:
    try:
        return dict(json.loads(settings.stream_status_file.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def test_a_sigkilled_stream_is_restarted_and_changes_nothing(demo: Demo, spark: SparkSession) -> None:
    """Replay the demo's days again (every record a duplicate), SIGKILL the streaming job while it
    works through them, and let the supervisor restart it: silver and gold end up identical to
    the uninterrupted run, updated_at included."""
    settings = demo.settings
    before = lakehouse_hashes(spark, settings)
    status = stream_status(settings)
    killed = status["pid"]
    processed = sum(status["silver_offsets"].values())
    checkpoint = table(SILVER_TRANSACTIONS).checkpoint(settings)
    started_before = last_batch(checkpoint / "offsets")

    replay = subprocess.Popen(
        [str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"), "replay", "--start", DAYS[0], "--end", DAYS[1]],
        env=demo.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    # Spark writes a micro-batch's offsets to the checkpoint when the batch starts and its commit
    # file when it ends: kill the job while a new silver batch is between the two (validating,
    # writing silver and gold, or its progress row).
    def silver_mid_batch() -> bool:
        started = last_batch(checkpoint / "offsets")
        return started > started_before and started > last_batch(checkpoint / "commits")

    assert wait_until(silver_mid_batch, 300, 0.05), stream_status(settings)
    os.kill(killed, signal.SIGKILL)
    assert sum(stream_status(settings)["silver_offsets"].values()) < processed + 42400, (
        "silver finished the replay before the kill: the test proves nothing"
    )
    assert replay.wait(timeout=300) == 0

    assert wait_until(lambda: stream_status(settings).get("pid") not in (None, killed), 240, 1), (
        "the supervisor restarted the job"
    )
    waited = stockstream(demo, "wait", "--date", DAYS[0], "--date", DAYS[1], "--timeout", "600")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert "exit code -9 (SIGKILL)" in Path(settings.log_dir / "stream.log").read_text()

    assert lakehouse_hashes(spark, settings) == before
    assert table(BRONZE_TRANSACTIONS).read(spark, settings).count() == 2 * 42400, "bronze keeps every record"
    assert table(SILVER_QUARANTINE).read(spark, settings).count() == 0


def test_the_skeleton_dag_runs_through_the_scheduler(demo: Demo) -> None:
    headers = {"Authorization": f"Bearer {demo.token()}"}
    dag_url = f"{demo.api}/dags/stockstream_skeleton"

    parsed = wait_until(lambda: requests.get(dag_url, headers=headers, timeout=10).status_code == 200, 180, 2)
    assert parsed, "the dag-processor never parsed dags/"
    errors = requests.get(f"{demo.api}/importErrors", headers=headers, timeout=10).json()
    assert errors["total_entries"] == 0, errors

    assert requests.patch(dag_url, json={"is_paused": False}, headers=headers, timeout=10).status_code == 200
    run = requests.post(
        f"{dag_url}/dagRuns",
        json={"logical_date": None, "conf": {"count": 300, "day": "2026-11-23"}},
        headers=headers,
        timeout=10,
    )
    assert run.status_code == 200, run.text
    run_id = run.json()["dag_run_id"]

    def run_state() -> str:
        return str(requests.get(f"{dag_url}/dagRuns/{run_id}", headers=headers, timeout=10).json()["state"])

    assert wait_until(lambda: run_state() not in ("queued", "running"), 600, 3), (
        "the run took over 10 minutes"
    )
    state = run_state()
    tasks = requests.get(f"{dag_url}/dagRuns/{run_id}/taskInstances", headers=headers, timeout=10).json()
    states = {t["task_id"]: t["state"] for t in tasks["task_instances"]}
    assert state == "success", states

    counted = requests.get(
        f"{dag_url}/dagRuns/{run_id}/taskInstances/count_bronze/xcomEntries/return_value",
        headers=headers,
        timeout=10,
    ).json()
    # The demo's days, their replay again by the SIGKILL test, and this run's sample.
    assert int(counted["value"]) == 2 * 42400 + 300, counted


def test_up_again_is_a_no_op(demo: Demo) -> None:
    pids = sorted(path.read_text() for path in Path(demo.settings.run_dir).glob("*.pid"))
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"), "up"],
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.read_text() for path in Path(demo.settings.run_dir).glob("*.pid")) == pids
    assert len(pids) == 6, "the broker, the stream and Airflow's four components"


def test_down_leaves_no_process_behind(demo: Demo) -> None:
    assert our_processes(demo.settings), "the services were found while running"
    result = make("down", demo.env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "airflow" in result.stdout and "kafka" in result.stdout and "stream" in result.stdout
    leftover = our_processes(demo.settings)
    assert leftover == [], leftover
    again = make("down", demo.env, timeout=60)
    assert again.returncode == 0 and "nothing was running" in again.stdout
    assert not list(Path(demo.settings.run_dir).glob("*.pid"))
