"""The README's `make demo` in an isolated data root with its own ports, then the Airflow path:
health, login, the skeleton DAG run through the scheduler, and `make down` leaving nothing behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import requests

from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.services.airflow import AirflowService
from stockstream.services.process import wait_until
from tests.conftest import isolated_settings

pytestmark = pytest.mark.e2e


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


def test_demo_prints_the_bronze_count_and_where_to_look(demo: Demo) -> None:
    lines = demo.output.splitlines()
    header = next(i for i, line in enumerate(lines) if "bronze_rows" in line)
    first_row = next(line for line in lines[header + 1 :] if "│" in line)
    values = [cell.strip() for cell in first_row.split("│") if cell.strip()]
    assert values[:3] == ["42400", "42400", "42400"], demo.output  # 53 tickers x 2 days x 400 trades
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
    assert int(counted["value"]) == 42400 + 300, counted  # the demo's days plus this run's sample


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
    assert len(pids) == 5, "the broker and Airflow's four components"


def test_down_leaves_no_process_behind(demo: Demo) -> None:
    assert our_processes(demo.settings), "the services were found while running"
    result = make("down", demo.env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "airflow" in result.stdout and "kafka" in result.stdout
    leftover = our_processes(demo.settings)
    assert leftover == [], leftover
    again = make("down", demo.env, timeout=60)
    assert again.returncode == 0 and "nothing was running" in again.stdout
    assert not list(Path(demo.settings.run_dir).glob("*.pid"))
