"""Backfill a range of trading days through the market_day DAG (Airflow's own backfill, created
over the REST API), following each day's run to the end."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from stockstream import lake
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.orchestration import airflow_sqlite
from stockstream.orchestration.airflow_api import FINISHED, AirflowApi, DagRun
from stockstream.orchestration.days import is_trading_day
from stockstream.tables import DATA_QUALITY, STOCK_DAILY

log = logging.getLogger(__name__)

MARKET_DAY = "market_day"
REPROCESS = ("none", "failed", "completed")
CREATE_TRIES = 10
TRANSIENT = ("Another backfill is running", "database is locked")  # refusals worth another try


@dataclass(frozen=True)
class DayResult:
    """How one backfilled day ended."""

    day: date
    state: str
    seconds: float | None
    checks: str  # "5 pass", "fail: conservation", "not finalised"
    stocks: int  # rows of gold.stock_daily for the day


def plan(
    api: AirflowApi, start: date, end: date, *, conf: dict[str, Any], reprocess: str, max_active_runs: int
) -> tuple[dict[str, Any], list[date]]:
    """The backfill request and the days Airflow says it would run (none: nothing to do)."""
    if end < start:
        raise StockstreamError(f"the range ends ({end}) before it starts ({start})", "swap --start and --end")
    if reprocess not in REPROCESS:
        raise StockstreamError(f"unknown --reprocess {reprocess!r}", f"use one of {', '.join(REPROCESS)}")
    api.wait_for_dag(MARKET_DAY)
    body = api.backfill_body(
        MARKET_DAY, start, end, conf=conf, reprocess=reprocess, max_active_runs=max_active_runs
    )
    # Empty when every day already has a run that `reprocess` keeps, or there is no weekday.
    return body, api.backfill_dry_run(body)


def creation(settings: Settings, body: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """The `airflow backfill create` command for a backfill request, and its environment."""
    from stockstream.services.airflow import airflow_env

    argv = [
        str(settings.venv_bin / "airflow"),
        "backfill",
        "create",
        "--dag-id",
        str(body["dag_id"]),
        "--from-date",
        str(body["from_date"]),
        "--to-date",
        str(body["to_date"]),
        "--reprocess-behavior",
        str(body["reprocess_behavior"]),
        "--max-active-runs",
        str(body["max_active_runs"]),
        "--dag-run-conf",
        json.dumps(body["dag_run_conf"] or {}),
    ]
    env = {**os.environ, **airflow_env(settings)}
    return argv, {**env, **airflow_sqlite.backfill_env(env)}


def create(settings: Settings, api: AirflowApi, body: dict[str, Any]) -> dict[str, Any]:
    """Create the backfill with `airflow backfill create`, then find it over the API.

    The CLI rather than POST /api/v2/backfills: on SQLite (the embedded default) the CLI process
    gets connections that make the creation one transaction (see airflow_sqlite), and a failed
    creation inside the API server was seen to leave that server unable to write until restarted,
    where a CLI process that fails takes its connection with it. A finished backfill counts as
    running until the scheduler marks it complete (every 30 s): that refusal is waited out.
    """
    argv, env = creation(settings, body)
    since = datetime.now(UTC) - timedelta(seconds=5)
    for attempt in range(CREATE_TRIES):
        result = subprocess.run(  # noqa: S603
            argv,
            env=env,
            cwd=settings.airflow_home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode == 0:
            break
        transient = next((sign for sign in TRANSIENT if sign in output), None)
        if transient is None or attempt == CREATE_TRIES - 1:
            last = "\n".join(output.strip().splitlines()[-8:])
            raise StockstreamError(
                f"`airflow backfill create` failed:\n{last}",
                "see the message above; the scheduler's log is var/logs/airflow-scheduler.log",
            )
        log.info("backfill creation refused for now (try %d: %s): trying again", attempt + 1, transient)
        # A creation that failed half-way leaves a backfill without runs, which the scheduler
        # closes after 2 minutes: the tries span longer than that.
        time.sleep(min(5 * (attempt + 1), 20))
    created = api.active_backfill(body, since)
    if created is None:
        raise StockstreamError(
            "`airflow backfill create` succeeded but Airflow lists no such backfill",
            f"look at the DAG's runs in the UI ({settings.airflow_url}/dags/{MARKET_DAY})",
        )
    return created


def describe(api: AirflowApi, run: DagRun) -> str:
    """'queued', 'running: finalize', 'success', ... for one run."""
    if run.state != "running":
        return run.state
    states = api.task_states(MARKET_DAY, run.run_id)
    active = [task for task, state in states.items() if state in ("running", "up_for_reschedule", "queued")]
    return f"running: {', '.join(active)}" if active else "running"


def follow(
    api: AirflowApi,
    days: list[date],
    *,
    timeout: float,
    on_update: Callable[[dict[date, str]], None] | None = None,
    interval: float = 3.0,
) -> dict[date, DagRun]:
    """Poll the runs of `days` until every one has finished; day -> its final run."""
    deadline = time.monotonic() + timeout
    wanted = set(days)
    while True:
        runs = {
            run.logical_date.date(): run
            for run in api.dag_runs(MARKET_DAY, days[0], days[-1])
            if run.logical_date is not None and run.logical_date.date() in wanted
        }
        if on_update is not None:
            on_update({day: describe(api, runs[day]) if day in runs else "not created" for day in days})
        if len(runs) == len(wanted) and all(run.state in FINISHED for run in runs.values()):
            return runs
        if time.monotonic() > deadline:
            waiting = sorted(day for day in days if day not in runs or runs[day].state not in FINISHED)
            raise StockstreamError(
                f"the backfill has not finished after {timeout:.0f}s: "
                f"{', '.join(map(str, waiting))} still running",
                "it goes on in Airflow: watch it in the UI, or run the same command again to follow it",
            )
        time.sleep(interval)


def summarise(settings: Settings, runs: dict[date, DagRun]) -> list[DayResult]:
    """Per day: the run's state and duration, its checks in ops.data_quality, its gold rows."""
    days = sorted(runs)
    scope = [("trade_date", "in", days)]
    checks = lake.read(settings, DATA_QUALITY, columns=["trade_date", "check_name", "status"], where=scope)
    stocks = lake.read(settings, STOCK_DAILY, columns=["trade_date"], where=scope)
    results = []
    for day in days:
        mine = checks[checks["trade_date"] == day]
        failed = sorted(mine[mine["status"] == "fail"]["check_name"])
        if mine.empty:
            summary = "not finalised"
        elif failed:
            summary = "fail: " + ", ".join(failed)
        else:
            summary = ", ".join(f"{n} {s}" for s, n in mine["status"].value_counts().sort_index().items())
        if not is_trading_day(day):
            summary = "weekend: nothing traded"
        run = runs[day]
        results.append(
            DayResult(day, run.state, run.seconds, summary, int((stocks["trade_date"] == day).sum()))
        )
    return results
