"""Airflow 3 as `airflow standalone` runs it (LocalExecutor, SQLite, SimpleAuthManager), but
component by component: each gets its own log and pid file, and the log servers that
standalone binds to every interface are not started (task logs are read from local files)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import requests

from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.errors import StockstreamError
from stockstream.services.process import ManagedProcess, port_in_use, tail

log = logging.getLogger(__name__)

COMPONENTS: dict[str, list[str]] = {
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
    "api-server": ["api-server"],
}
HEALTH_KEYS = ("metadatabase", "scheduler", "dag_processor", "triggerer")
ADMIN_USER = "admin"


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment every Airflow process of this instance runs with."""
    home = settings.airflow_home
    url = settings.airflow_url
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        # Explicit, so that an AIRFLOW__ variable or airflow.cfg left from elsewhere cannot turn the
        # login off: the UI and the API always ask for the generated password.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__PARALLELISM": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(settings.airflow_parallelism),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
        "AIRFLOW__API__HOST": settings.host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(settings.airflow_worker_log_port),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(settings.airflow_trigger_log_port),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # Off, and on the configured host should someone turn it on (Airflow's default: 0.0.0.0).
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": settings.host,
        # Tasks run stockstream code: the same settings, the venv's tools first on PATH.
        **settings_env(settings),
        "PATH": f"{settings.venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }


class AirflowService:
    """The four Airflow components of the embedded default, each a managed process."""

    name = "airflow"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = airflow_env(settings)
        airflow = str(settings.venv_bin / "airflow")
        self.components = {
            name: ManagedProcess(
                name=f"airflow-{name}",
                argv=[airflow, *args],
                run_dir=settings.run_dir,
                log_path=settings.log_dir / f"airflow-{name}.log",
                env=self.env,
                cwd=settings.airflow_home,
            )
            for name, args in COMPONENTS.items()
        }

    @property
    def password_file(self) -> Path:
        return self.settings.airflow_home / "simple_auth_manager_passwords.json.generated"

    def admin_password(self) -> str | None:
        """The generated admin password (written by the API server on its first start)."""
        try:
            return str(json.loads(self.password_file.read_text())[ADMIN_USER])
        except (FileNotFoundError, KeyError, ValueError):
            return None

    def migrate(self) -> None:
        """Create or upgrade the metadata database (idempotent)."""
        self.settings.airflow_home.mkdir(parents=True, exist_ok=True)
        log_path = self.settings.log_dir / "airflow-db-migrate.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as out:
            result = subprocess.run(  # noqa: S603
                [str(self.settings.venv_bin / "airflow"), "db", "migrate"],
                env={**os.environ, **self.env},
                cwd=self.settings.airflow_home,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if result.returncode != 0:
            database = self.settings.airflow_home / "airflow.db"
            raise StockstreamError(
                f"`airflow db migrate` failed. Last lines of {log_path}:\n{tail(log_path)}",
                f"fix the cause above; a broken metadata database ({database}) "
                "can be removed and is created again on the next `stockstream up`",
            )

    def health(self) -> dict[str, str]:
        """component -> status, from /api/v2/monitor/health ({} when the API does not answer)."""
        try:
            reply = requests.get(f"{self.settings.airflow_url}/api/v2/monitor/health", timeout=3)
            reply.raise_for_status()
            body = reply.json()
        except (requests.RequestException, ValueError):
            return {}
        return {key: str(body.get(key, {}).get("status", "unknown")) for key in HEALTH_KEYS}

    def healthy(self) -> bool:
        status = self.health()
        return bool(status) and all(value == "healthy" for value in status.values())

    def start(self) -> None:
        if self.is_running() and self.healthy():
            return
        s = self.settings
        if not self.components["api-server"].is_running() and port_in_use(s.host, s.airflow_port):
            raise StockstreamError(
                f"port {s.host}:{s.airflow_port} is taken by another program, so Airflow cannot bind it",
                "stop that program, or choose another port with STOCKSTREAM_AIRFLOW_PORT",
            )
        self.migrate()
        for process in self.components.values():
            process.start()
        api = self.components["api-server"]
        api.wait_healthy(self.healthy, timeout=s.start_timeout)
        for process in self.components.values():
            if not process.is_running():
                raise StockstreamError(
                    f"{process.name} exited. Last lines of {process.log_path}:\n{tail(process.log_path)}",
                    "fix the cause above, then run `stockstream up` again",
                )

    def stop(self) -> bool:
        # The API server last: the others report to it while shutting down.
        stopped = [self.components[name].stop() for name in ("scheduler", "triggerer", "dag-processor")]
        stopped.append(self.components["api-server"].stop())
        return any(stopped)

    def is_running(self) -> bool:
        return any(process.is_running() for process in self.components.values())
