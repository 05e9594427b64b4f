"""The SQL engine (`python -m stockstream.sqlengine`) as a managed process: healthy once it has
written its ready file and its Spark Connect port answers."""

from __future__ import annotations

import json
from pathlib import Path

from stockstream.config import Settings, settings_env
from stockstream.services.process import ManagedProcess, port_in_use, start_on_port
from stockstream.sqlengine import engine_url, ready_path


class SqlEngineService:
    """A warm Spark driver serving Spark Connect on settings.host:settings.sql_port."""

    name = "sql"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process = ManagedProcess(
            name="sql-engine",
            argv=[settings.python, "-m", "stockstream.sqlengine"],
            run_dir=settings.run_dir,
            log_path=settings.log_dir / "sql-engine.log",
            env={**settings_env(settings), "PYTHONUNBUFFERED": "1"},
        )

    @property
    def url(self) -> str:
        return engine_url(self.settings)

    @property
    def log_path(self) -> Path:
        return self.process.log_path

    def ready_url(self) -> str | None:
        """The engine's URL when this data root's engine runs, is warm and answers; else None."""
        pid = self.process.pid()
        try:
            ready = json.loads(ready_path(self.settings).read_text())
        except (FileNotFoundError, ValueError):
            return None
        if pid is None or ready.get("pid") != pid:
            return None
        return self.url if port_in_use(self.settings.host, self.settings.sql_port) else None

    def healthy(self) -> bool:
        return self.ready_url() is not None

    def start(self) -> None:
        """Start the engine unless it runs, and wait until it is warm."""
        s = self.settings
        start_on_port(
            self.process,
            self.healthy,
            s.host,
            s.sql_port,
            setting="STOCKSTREAM_SQL_PORT",
            timeout=s.start_timeout,
        )

    def stop(self) -> bool:
        """Stop the engine; True when it was running."""
        stopped = self.process.stop(timeout=30)
        ready_path(self.settings).unlink(missing_ok=True)
        return stopped

    def is_running(self) -> bool:
        return self.process.is_running()
