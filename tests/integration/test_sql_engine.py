"""The SQL engine as `stockstream up` runs it (its own process, SqlEngineService) on the dashboard's
hand-built lakehouse: `stockstream sql` runs on it, sees each table's newest version and tables
created after it started, says so when the engine stops under a running statement, and runs in a
Spark of its own once the engine is stopped."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.services.manager import Platform
from stockstream.services.process import wait_until
from stockstream.services.sql_engine import SqlEngineService
from stockstream.tables import MINUTE_BARS, REPLAY_MANIFEST, table
from tests.conftest import isolated_settings
from tests.dashboard_lake import BARS, D2, append_trade, bar_rows, build_lakehouse
from tests.unit.test_analyses import write_table

pytestmark = pytest.mark.integration

DAY_QUERY = (
    f"SELECT ticker, volume, trades FROM gold.stock_daily WHERE trade_date = DATE'{D2}' ORDER BY ticker"
)
# gold.stock_daily of D2 in the fixture (tests/unit/test_analyses.py STOCK_ROWS).
DAY_ROWS = [
    {"ticker": "6758.T", "volume": 300, "trades": 5},
    {"ticker": "7203.T", "volume": 400, "trades": 5},
    {"ticker": "AAPL", "volume": 1200, "trades": 20},
    {"ticker": "MSFT", "volume": 700, "trades": 10},
]


STOCKSTREAM = str(PROJECT_ROOT / ".venv" / "bin" / "stockstream")


def cli_env(settings: Settings) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(settings.data_root), **settings_env(settings)}


def sql(settings: Settings, *queries: str) -> tuple[list[dict[str, object]], str]:
    """`stockstream sql QUERY... --format json`: the rows printed and what went to stderr."""
    done = subprocess.run(
        [STOCKSTREAM, "sql", *queries, "--format", "json"],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()], done.stderr


def test_stockstream_sql_runs_on_the_engine_and_sees_new_data(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path / "root", start_timeout=180)
    build_lakehouse(settings)
    minute_bars = table(MINUTE_BARS).path(settings)
    shutil.rmtree(minute_bars)  # written again below, once the engine runs
    engine = SqlEngineService(settings)
    engine.start()
    try:
        line = next(line for line in Platform(settings).status() if line.name == "sql")
        assert (line.running, line.healthy, line.detail) == (
            True,
            True,
            f"sc://127.0.0.1:{settings.sql_port}",
        )

        rows, said = sql(settings, DAY_QUERY)
        assert rows == DAY_ROWS
        assert f"running on the SQL engine at sc://127.0.0.1:{settings.sql_port}" in said

        # A new Delta version is read by the next statement: MSFT's row of D2 gains 25 shares.
        append_trade(
            settings, D2, "MSFT", 103.25, shares=25, updated_at=datetime(2026, 10, 6, 22, 30, tzinfo=UTC)
        )
        rows, _ = sql(settings, DAY_QUERY)
        assert rows[3] == {"ticker": "MSFT", "volume": 725, "trades": 11}
        assert rows[:3] == DAY_ROWS[:3]

        # A table being created (its log folder, no version yet) is not a table until its first
        # commit: Spark would refuse to register it, and that once stopped the engine. It stays
        # so while the engine registers the next table, and in the Spark of the last query.
        (table(REPLAY_MANIFEST).path(settings) / "_delta_log").mkdir(parents=True)

        # A table created after the engine started is registered by it within seconds.
        (day, ticker), bars = next(iter(BARS.items()))
        write_table(settings, MINUTE_BARS, bar_rows(day, ticker, bars))

        def bars_counted() -> bool:
            rows, _ = sql(settings, "SHOW TABLES IN gold")
            return any(row["tableName"] == "minute_bars" for row in rows)

        assert wait_until(bars_counted, timeout=60, interval=2), "gold.minute_bars was never registered"
        assert engine.ready_url() is not None
        rows, _ = sql(settings, "SELECT count(*) AS n, sum(volume) AS shares FROM gold.minute_bars")
        assert rows == [{"n": len(bars), "shares": sum(bar[6] for bar in bars)}]

        # The engine stopped while a statement runs on it: the statement fails within seconds
        # and says so, instead of retrying for Spark Connect's default 10 minutes.
        long = subprocess.Popen(
            [STOCKSTREAM, "sql", "SELECT count(*) FROM range(100000000000)"],
            env=cli_env(settings),
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert long.stderr is not None
        said = ""
        while "running on the SQL engine" not in said and long.poll() is None:
            said += long.stderr.readline()
    finally:
        assert engine.stop()
    assert not engine.is_running() and engine.ready_url() is None
    said += long.communicate(timeout=60)[1]
    assert long.returncode == 1, said
    assert "the SQL engine stopped answering while it ran the statement" in said
    assert "Traceback" not in said

    rows, said = sql(settings, DAY_QUERY)
    assert rows[3] == {"ticker": "MSFT", "volume": 725, "trades": 11}
    assert "SQL engine" not in said
