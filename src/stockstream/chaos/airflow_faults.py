"""Airflow faults against a running platform (broker, stream and Airflow up, some days processed):
a market_day task SIGKILLed mid-run and retried by Airflow, and a whole finished run cleared and
run again. Either way every lakehouse table must end exactly as it was, bookkeeping columns
included (invariant 5: a re-run MERGEs only changed rows, so it rewrites none)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from stockstream import lake
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import kill_tree
from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.errors import StockstreamError
from stockstream.market.sources import business_days
from stockstream.orchestration.airflow_api import FINISHED, AirflowApi
from stockstream.orchestration.backfill import MARKET_DAY
from stockstream.services.process import free_ports
from stockstream.tables import registry, table

log = logging.getLogger(__name__)

KILL_TITLE = "Airflow task SIGKILLed mid-run, retried"
CLEAR_TITLE = "market_day run cleared and re-run"
RUN_TIMEOUT = 2400.0  # a market_day run of one day, a retry's backoff included, on 2 busy cores
ACTIVE = ("queued", "running")
# When a task's first try is killed: seconds after it started, drawn from this window. On a day
# already processed neither task commits anything (finalize compares each table with its
# recomputation before it would MERGE; extract reads without a JVM), so the kill lands while the
# task reads: extract runs about 15 s, finalize 40-60 s on 2 busy cores.
KILL_WINDOW = {"finalize": (5.0, 25.0), "extract": (0.0, 4.0)}


@dataclass(frozen=True)
class Snapshot:
    """Every lakehouse table: its row count and a hash of all its rows, all columns included."""

    rows: dict[str, int]
    hashes: dict[str, str]

    @property
    def records(self) -> int:
        return sum(self.rows.values())

    def changed(self, after: Snapshot) -> list[str]:
        """The tables whose content differs in `after`."""
        return sorted(name for name in self.hashes if after.hashes.get(name) != self.hashes[name])


def snapshot(settings: Settings) -> Snapshot:
    """Read every table of the registry (delta-rs, no JVM), canonically ordered and hashed."""
    rows, hashes = {}, {}
    for name in sorted(registry()):
        frame = lake.read(settings, name)
        text = sorted(json.dumps(row, default=repr, sort_keys=True) for row in frame.to_dict("records"))
        rows[name] = len(frame)
        hashes[name] = hashlib.sha256("\n".join(text).encode()).hexdigest()
    return Snapshot(rows, hashes)


@dataclass
class RunOutcome:
    """How the run a fault hit ended: its state, each task's last try and state, the tables it
    changed; for kills, the state the killed try ended in, how far it had got when killed."""

    run_id: str
    state: str
    tries: dict[str, int]
    task_states: dict[str, str]
    recovery_seconds: float | None
    changed: list[str] = field(default_factory=list)
    first_try: str | None = None
    killed_after: float | None = None  # seconds into the killed try
    commits_before_kill: int | None = None  # Delta commits the killed try had made
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class MarketDayApi(AirflowApi):
    """What the faults ask of the REST API about market_day: trigger, task instances, clear."""

    def trigger(self, conf: dict[str, Any]) -> str:
        """A manual run (no logical date) with this conf; its run id."""
        path = f"/api/v2/dags/{MARKET_DAY}/dagRuns"
        body = self._send("POST", path, json={"logical_date": None, "conf": conf})
        return str(body["dag_run_id"])

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v2/dags/{MARKET_DAY}/dagRuns/{run_id}"))

    def task_instances(self, run_id: str) -> dict[str, dict[str, Any]]:
        """task_id -> the task instance (state, try_number, pid, id ...)."""
        body = self.get(f"/api/v2/dags/{MARKET_DAY}/dagRuns/{run_id}/taskInstances", limit=1000)
        return {str(ti["task_id"]): dict(ti) for ti in body["task_instances"]}

    def task_instance(self, run_id: str, task: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v2/dags/{MARKET_DAY}/dagRuns/{run_id}/taskInstances/{task}"))

    def tries(self, run_id: str, task: str) -> dict[int, str]:
        """try_number -> the state that try ended in (or is in)."""
        body = self.get(f"/api/v2/dags/{MARKET_DAY}/dagRuns/{run_id}/taskInstances/{task}/tries")
        return {int(ti["try_number"]): str(ti.get("state") or "none") for ti in body["task_instances"]}

    def clear(self, run_id: str) -> list[str]:
        """Clear every task of the run (not only failed ones) and queue the run again; the
        task ids Airflow cleared."""
        body = self._send(
            "POST",
            f"/api/v2/dags/{MARKET_DAY}/clearTaskInstances",
            json={"dry_run": False, "dag_run_id": run_id, "only_failed": False, "reset_dag_runs": True},
        )
        return sorted(str(ti["task_id"]) for ti in body["task_instances"])

    def active_runs(self) -> list[str]:
        body = self.get(f"/api/v2/dags/{MARKET_DAY}/dagRuns", state=list(ACTIVE), limit=100)
        return [str(run["dag_run_id"]) for run in body["dag_runs"]]

    def wait_idle(self, timeout: float = RUN_TIMEOUT) -> None:
        """Until no market_day run is queued or running (a scheduled one would change the tables)."""
        deadline = time.monotonic() + timeout
        while active := self.active_runs():
            if time.monotonic() > deadline:
                raise StockstreamError(
                    f"market_day runs still active after {timeout:.0f}s: {', '.join(active)}",
                    "look at them in the Airflow UI (a task may be waiting for the stream)",
                )
            time.sleep(3)

    def wait_finished(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (run := self.run(run_id))["state"] not in FINISHED:
            if time.monotonic() > deadline:
                raise StockstreamError(
                    f"market_day run {run_id} has not finished after {timeout:.0f}s ({run['state']}: "
                    f"{self.task_states(MARKET_DAY, run_id)})",
                    "look at the run in the Airflow UI",
                )
            time.sleep(3)
        return run


def _timestamp(value: object) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def task_process(api: MarketDayApi, run_id: str, task: str, timeout: float) -> tuple[psutil.Process, int]:
    """The process running `task`'s try: Airflow's task runner, titled `airflow worker -- <ti id>`
    and forked by the LocalExecutor's supervisor (a Spark JVM, when the step starts one, is its
    child). Returns it and the try's number."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ti = api.task_instance(run_id, task)
        if ti.get("state") in ("success", "failed", "skipped", "upstream_failed"):
            raise StockstreamError(f"{task} ended ({ti['state']}) before it was seen running", None)
        pid = ti.get("pid")
        if ti.get("state") == "running" and pid:
            try:
                proc = psutil.Process(int(pid))
                # Never kill a stranger: the pid must be the runner of this very task instance.
                if str(ti["id"]) in " ".join(proc.cmdline()):
                    return proc, int(ti["try_number"])
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                pass
        time.sleep(0.3)
    raise StockstreamError(
        f"{task} of run {run_id} was not seen running within {timeout:.0f}s",
        "look at the run in the Airflow UI",
    )


def commits(settings: Settings) -> set[Path]:
    """Every Delta commit file of every lakehouse table."""
    found: set[Path] = set()
    for name in registry():
        found.update(table(name).path(settings).glob("_delta_log/*.json"))
    return found


def alive(proc: psutil.Process) -> bool:
    try:
        return bool(proc.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def finish(api: MarketDayApi, run_id: str, since: datetime) -> RunOutcome:
    """Wait for the run to finish, then what it ended as; recovery = `since` to its end."""
    run = api.wait_finished(run_id)
    tis = api.task_instances(run_id)
    ended = run.get("end_date")
    return RunOutcome(
        run_id=run_id,
        state=str(run["state"]),
        tries={name: int(ti["try_number"]) for name, ti in tis.items()},
        task_states={name: str(ti.get("state")) for name, ti in tis.items()},
        recovery_seconds=(_timestamp(ended) - since).total_seconds() if ended else None,
    )


def conclude(figure: Figure, outcome: RunOutcome, before: Snapshot, after: Snapshot, label: str) -> None:
    """Compare the tables, count the trial: records = rows of every table; a table with fewer
    rows after counts them lost, with more counts them duplicated (a table whose content
    changed with its row count is a failed trial all the same)."""
    figure.records += before.records
    outcome.changed = before.changed(after)
    for name in outcome.changed:
        difference = after.rows.get(name, 0) - before.rows[name]
        figure.lost += max(0, -difference)
        figure.duplicated += max(0, difference)
    if outcome.changed:
        outcome.problems.append(f"tables changed: {', '.join(outcome.changed)}")
    if outcome.state == "success" and outcome.recovery_seconds is not None:
        figure.recovery_seconds.append(outcome.recovery_seconds)
    figure.trial(outcome.ok, f"{label}: " + "; ".join(outcome.problems))
    log.info("%s: %s", label, "ok" if outcome.ok else outcome.problems)


def kill_task_and_retry(
    settings: Settings,
    day: date,
    task: str = "finalize",
    *,
    after_commits: int = 0,
    delay: float = 0.0,
    figure: Figure | None = None,
) -> tuple[Figure, RunOutcome]:
    """Trigger market_day for `day` (already processed) over the REST API; once `task`'s first try
    runs, has made `after_commits` Delta commits (on a day already processed neither finalize nor
    extract commits anything) and `delay` more seconds have passed, SIGKILL its process tree
    (task runner, Spark JVM and its Python workers) and let Airflow retry it.
    One trial: the killed try failed, the task succeeded on the next, the run succeeded, every
    table is unchanged. Recovery = the kill to the run's success."""
    figure = figure if figure is not None else Figure(KILL_TITLE)
    api = MarketDayApi(settings)
    api.wait_idle()
    before = snapshot(settings)
    committed = commits(settings)
    run_id = api.trigger({"day": day.isoformat(), "source": "offline"})
    log.info("triggered %s for %s; waiting for %s to run", run_id, day, task)
    proc, first = task_process(api, run_id, task, timeout=RUN_TIMEOUT)
    # The stream adds no commit meanwhile: the day's replay is skipped (already in the topic).
    while len(commits(settings) - committed) < after_commits and alive(proc):
        time.sleep(0.05)
    time.sleep(delay)
    made = len(commits(settings) - committed)
    try:
        tree = [proc, *proc.children(recursive=True)] if alive(proc) else []
    except psutil.NoSuchProcess:
        tree = []
    if not tree:
        raise StockstreamError(
            f"{task}'s try {first} of {run_id} ended after {made} commits, before the kill",
            "kill it earlier (fewer commits, a shorter delay)",
        )
    killed_at, killed_after = datetime.now(UTC), time.time() - proc.create_time()
    log.info(
        "SIGKILL %s (try %d) %.0f s in, after %d commits: %s",
        task,
        first,
        killed_after,
        made,
        ", ".join(f"{p.pid} {p.name()}" for p in tree),
    )
    kill_tree(proc.pid)
    outcome = finish(api, run_id, since=killed_at)
    outcome.first_try = api.tries(run_id, task).get(first)
    outcome.killed_after, outcome.commits_before_kill = killed_after, made
    if outcome.first_try not in ("up_for_retry", "failed"):
        outcome.problems.append(f"{task}'s killed try {first} ended {outcome.first_try} (the kill missed)")
    if (outcome.tries[task], outcome.task_states[task]) != (first + 1, "success"):
        outcome.problems.append(
            f"{task} ended {outcome.task_states[task]} on try {outcome.tries[task]}, "
            f"not success on try {first + 1}"
        )
    if outcome.state != "success":
        outcome.problems.append(f"the run ended {outcome.state}: {outcome.task_states}")
    conclude(figure, outcome, before, snapshot(settings), f"{task} killed in {run_id}")
    return figure, outcome


def clear_run_and_rerun(
    settings: Settings, dag_run_id: str, *, figure: Figure | None = None
) -> tuple[Figure, RunOutcome]:
    """Clear every task of a finished market_day run over the REST API (clearTaskInstances, the
    run reset to queued) and wait for it to finish again. One trial: every task ran again (its
    try_number went up) and succeeded, the run succeeded, every table is unchanged. Recovery =
    the clear to the run's success."""
    figure = figure if figure is not None else Figure(CLEAR_TITLE)
    api = MarketDayApi(settings)
    api.wait_idle()
    before_tries = {name: int(ti["try_number"]) for name, ti in api.task_instances(dag_run_id).items()}
    before = snapshot(settings)
    cleared_at = datetime.now(UTC)
    cleared = api.clear(dag_run_id)
    log.info("cleared %s of %s", ", ".join(cleared), dag_run_id)
    outcome = finish(api, dag_run_id, since=cleared_at)
    if cleared != sorted(before_tries):
        outcome.problems.append(f"cleared {cleared}, not every task {sorted(before_tries)}")
    again = [name for name, number in outcome.tries.items() if number <= before_tries.get(name, 0)]
    if again:
        outcome.problems.append(f"did not run again: {', '.join(sorted(again))}")
    failed = {name: state for name, state in outcome.task_states.items() if state != "success"}
    if outcome.state != "success" or failed:
        outcome.problems.append(f"the run ended {outcome.state}: {failed}")
    conclude(figure, outcome, before, snapshot(settings), f"{dag_run_id} cleared")
    return figure, outcome


def platform_settings(root: Path, **overrides: Any) -> Settings:
    """Settings of a platform of its own: its data root under `root`, free ports, offline data,
    small days (150 trades per ticker)."""
    values: dict[str, Any] = {
        "data_root": root / "platform",
        **free_ports(),
        "sim_trades_per_day": 150,
        "source": "offline",
        "start_timeout": 300,
    }
    return Settings(**{**values, **overrides})


def stockstream(settings: Settings, *args: str, timeout: float) -> str:
    """Run the stockstream CLI against this platform and return its output (stdout, then stderr);
    raises with the output's tail on failure."""
    # The caller's own Airflow or stockstream settings must not leak into the platform.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STOCKSTREAM_"))}
    result = subprocess.run(  # noqa: S603
        [str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"), *args],
        env={**inherited, **settings_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        output = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise StockstreamError(
            f"`stockstream {' '.join(args)}` failed:\n{output}", f"logs: {settings.log_dir}"
        )
    return result.stdout + result.stderr


def run_platform(
    root: Path,
    rng: random.Random,
    *,
    days: int = 2,
    tasks: Sequence[str] = ("finalize", "extract"),
    clears: int = 1,
    max_delay: float = 4.0,
) -> list[Figure]:
    """A platform of its own in `root` (`stockstream up`), the last `days` weekdays backfilled
    offline through Airflow; then a kill-and-retry trial for each of `tasks` on the last day, and
    `clears` clears of the last killed run; `stockstream down` at the end, whatever happened.
    Each task's first try is killed a seeded random moment of its KILL_WINDOW after it started."""
    settings = platform_settings(root)
    today = datetime.now(UTC).date()
    # The last weekdays before today: a run the scheduler creates for yesterday (market_day is
    # unpaused by the backfill) then finds a backfilled day, and processes no new one.
    chosen = business_days(today - timedelta(days=days + 10), today - timedelta(days=1))[-days:]
    killed, cleared = Figure(KILL_TITLE), Figure(CLEAR_TITLE)
    run_id: str | None = None
    moments: list[str] = []
    try:
        stockstream(settings, "up", timeout=900)
        stockstream(
            settings,
            "backfill",
            "--start",
            str(chosen[0]),
            "--end",
            str(chosen[-1]),
            "--source",
            "offline",
            timeout=2400,
        )
        for task in tasks:
            try:
                delay = rng.uniform(*KILL_WINDOW.get(task, (0.0, max_delay)))
                _, outcome = kill_task_and_retry(settings, chosen[-1], task, delay=delay, figure=killed)
            except StockstreamError as exc:  # e.g. the task ended before the kill: a failed trial
                killed.trial(False, f"{task}: {exc.message}")
                continue
            run_id = outcome.run_id
            moments.append(
                f"{task} {outcome.killed_after:.0f} s in, after {outcome.commits_before_kill} of its commits"
            )
        for _ in range(clears):
            if run_id is None:
                cleared.trial(False, "no run to clear: every kill trial failed")
                continue
            try:
                clear_run_and_rerun(settings, run_id, figure=cleared)
            except StockstreamError as exc:
                cleared.trial(False, exc.message)
    finally:
        stockstream(settings, "down", timeout=300)
    killed.notes.append(
        "a task of a market_day run triggered over the REST API for an already processed day: its "
        f"process tree (task runner, Spark JVM) SIGKILLed ({', '.join(moments) or 'no kill'}); recovery = "
        "kill to the run's success, Airflow's 30-60 s retry backoff included; records = rows of every "
        "table, all hashed (every column) before and after"
    )
    cleared.notes.append(
        "every task of a finished market_day run cleared over the REST API and run again; recovery = "
        "clear to the run's success; records = rows of every table, all hashed (every column) before "
        "and after"
    )
    return [killed, cleared]
