"""The live dashboard (`python -m stockstream.dashboard`) as a managed process: healthy when its
/healthz answers for this instance's data root."""

from __future__ import annotations

from pathlib import Path

import requests

from stockstream.config import Settings, settings_env
from stockstream.services.process import ManagedProcess, start_on_port


class DashboardService:
    """uvicorn serving stockstream.dashboard on settings.host:settings.dashboard_port."""

    name = "dashboard"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess(
            name=self.name,
            argv=[settings.python, "-m", "stockstream.dashboard"],
            run_dir=settings.run_dir,
            log_path=settings.log_dir / "dashboard.log",
            env={**settings_env(settings), "PYTHONUNBUFFERED": "1"},
        )

    @property
    def url(self) -> str:
        return self.settings.dashboard_url

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def healthy(self) -> bool:
        """True when the dashboard at the URL answers /healthz, and for this data root (not
        another instance's dashboard left on the same port)."""
        try:
            reply = requests.get(f"{self.url}/healthz", timeout=2)
            reply.raise_for_status()
            body = reply.json()
        except (requests.RequestException, ValueError):
            return False
        return isinstance(body, dict) and body.get("data_root") == str(self.settings.data_root)

    def start(self) -> None:
        """Start the dashboard unless it runs, and wait until it answers."""
        s = self.settings
        start_on_port(
            self.process,
            self.healthy,
            s.host,
            s.dashboard_port,
            setting="STOCKSTREAM_DASHBOARD_PORT",
            timeout=s.start_timeout,
        )

    def stop(self) -> bool:
        """Stop the dashboard; True when it was running."""
        return self.process.stop(timeout=10)

    def is_running(self) -> bool:
        return self.process.is_running()
