"""Airflow's environment: a login on the UI and the API, everything on the configured host, no
log server; checked in the values and in what Airflow itself makes of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stockstream.services.airflow import COMPONENTS, AirflowService, airflow_env
from tests.conftest import isolated_settings

pytestmark = pytest.mark.unit


def test_login_is_required_and_every_address_is_the_configured_host(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    env = airflow_env(settings)
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == (
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] == "False"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__API__PORT"] == str(settings.airflow_port)
    assert env["AIRFLOW__API__BASE_URL"] == f"http://127.0.0.1:{settings.airflow_port}"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
        f"http://127.0.0.1:{settings.airflow_port}/execution/"
    )
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "False"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW_HOME"] == str(tmp_path / "airflow")
    # No password, key or secret is handed to Airflow: it generates its own under AIRFLOW_HOME.
    assert not [key for key in env if any(word in key for word in ("PASSWORD", "SECRET", "FERNET"))]


def test_another_host_moves_every_address(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, host="10.1.2.3")
    env = airflow_env(settings)
    assert env["AIRFLOW__API__HOST"] == "10.1.2.3"
    assert env["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST"] == "10.1.2.3"
    assert env["AIRFLOW__API__BASE_URL"].startswith("http://10.1.2.3:")
    assert env["STOCKSTREAM_HOST"] == "10.1.2.3", "tasks see the same host"


def test_the_log_servers_that_bind_every_interface_are_not_started() -> None:
    # Airflow's serve_logs binds "" (all interfaces); the scheduler and the triggerer start one
    # unless told not to, the dag processor and the API server never do.
    assert COMPONENTS["scheduler"] == ["scheduler", "--skip-serve-logs"]
    assert COMPONENTS["triggerer"] == ["triggerer", "--skip-serve-logs"]
    assert set(COMPONENTS) == {"scheduler", "triggerer", "dag-processor", "api-server"}


# Runs in Airflow's own configuration with the environment above: the API app refuses requests
# without a token and a wrong password, and gives a token for the generated one.
PROBE = textwrap.dedent(
    """
    import json, sys
    from airflow.configuration import conf
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app())
    anonymous = client.get("/api/v2/dags")
    wrong = client.post(
        "/auth/token", json={"username": "admin", "password": "wrong"}
    )
    passwords = json.loads(open(sys.argv[1]).read())
    right = client.post("/auth/token", json={"username": "admin", "password": passwords["admin"]})
    with_token = client.get(
        "/api/v2/monitor/health", headers={"Authorization": "Bearer " + right.json()["access_token"]}
    )
    print(json.dumps({
        "all_admins": conf.getboolean("core", "simple_auth_manager_all_admins"),
        "api_host": conf.get("api", "host"),
        "anonymous": anonymous.status_code,
        "wrong": wrong.status_code,
        "right": right.status_code,
        "with_token": with_token.status_code,
    }))
    """
)


def test_airflow_itself_asks_for_the_generated_password(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path)
    service = AirflowService(settings)
    settings.airflow_home.mkdir(parents=True)
    assert service.password_file.is_relative_to(settings.data_root)
    # The API server writes the password file on start; so does the app's auth manager here.
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    result = subprocess.run(
        [sys.executable, str(probe), str(service.password_file)],
        env={**os.environ, **airflow_env(settings)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "all_admins": False,
        "api_host": "127.0.0.1",
        "anonymous": 401,
        "wrong": 401,
        "right": 201,
        "with_token": 200,
    }
    password = service.admin_password()
    assert password is not None and len(password) >= 16
