"""The README's `make demo` in an isolated data root with its own ports: three trading days
backfilled through Airflow's market_day DAG by `stockstream backfill`, then the same days again
(no table changes), a finalize task SIGKILLed mid-run and retried and a whole run cleared and run
again (no table changes), a day through `dag.test()`, a DAG triggered over the REST API with a JWT,
market_day triggered from the Airflow UI in headless Chromium, the stream service SIGKILLed
mid-replay and restarted by its supervisor (gold unchanged), the live dashboard following
`simulate --live`, and `make down` leaving nothing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from stockstream import lake
from stockstream.analyses import CHART_FILES, REPORT_FILE
from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.market.sources import business_days
from stockstream.orchestration.airflow_api import AirflowApi
from stockstream.orchestration.days import trailing_window
from stockstream.services.airflow import AirflowService, airflow_env
from stockstream.services.listeners import exposed, instance_listeners, listening_addresses
from stockstream.services.process import wait_until
from stockstream.tables import (
    BRONZE_TRANSACTIONS,
    DATA_QUALITY,
    SILVER_QUARANTINE,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    registry,
    table,
)
from tests.conftest import isolated_settings

pytestmark = pytest.mark.e2e

TICKERS = 53
TRADES = 150  # simulated trades per ticker and day (a smaller day than the default 400: faster)
PER_DAY = TICKERS * TRADES
# The demo's days (DEMO_DAYS=3): the last three weekdays before today, as scripts/demo.sh picks.
DAYS = business_days(date.today() - timedelta(days=30), date.today() - timedelta(days=1))[-3:]
OLDER = business_days(date.today() - timedelta(days=30), DAYS[0] - timedelta(days=1))[-2]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


@dataclass
class Demo:
    settings: Settings
    env: dict[str, str]
    output: str  # stdout
    progress: str  # stderr: progress lines and logs

    @property
    def api(self) -> str:
        return f"{self.settings.airflow_url}/api/v2"

    def password(self) -> str:
        password = AirflowService(self.settings).admin_password()
        assert password, "the API server generated an admin password"
        return password

    def token(self) -> str:
        reply = requests.post(
            f"{self.settings.airflow_url}/auth/token",
            json={"username": "admin", "password": self.password()},
            timeout=10,
        )
        assert reply.status_code in (200, 201), reply.text
        return str(reply.json()["access_token"])


def our_processes(settings: Settings) -> list[str]:
    """Processes started for this data root: their command line, AIRFLOW_HOME or
    STOCKSTREAM_DATA_ROOT points into it."""
    root = str(settings.data_root)
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            ours = "airflow" in cmdline or "stockstream" in cmdline
            env = proc.environ() if ours else {}
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        homes = (env.get("AIRFLOW_HOME", ""), env.get("STOCKSTREAM_DATA_ROOT", ""))
        if proc.pid != os.getpid() and (root in cmdline or any(home.startswith(root) for home in homes)):
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
    settings = isolated_settings(
        tmp_path_factory.mktemp("demo-root"), start_timeout=240, sim_trades_per_day=TRADES
    )
    # Airflow settings of the test process (the DAG tests set some) must not leak into the services.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "STOCKSTREAM_"))}
    env = {**inherited, **settings_env(settings), "DEMO_DAYS": "3", "COLUMNS": "200"}
    try:
        # Inside the try: a demo that times out still has its services stopped.
        result = make("demo", env, timeout=1500)
        assert result.returncode == 0, f"make demo failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        yield Demo(settings=settings, env=env, output=result.stdout, progress=result.stderr)
    finally:
        make("down", env, timeout=180)


def summary_rows(output: str) -> dict[str, list[str]]:
    """The backfill's per-day summary table (the one titled "backfill of"): day -> its cells."""
    lines = output.splitlines()
    start = max(i for i, line in enumerate(lines) if "backfill of" in line)
    rows = {}
    for line in lines[start + 1 :]:
        if line.lstrip().startswith("└"):
            break
        cells = [cell.strip() for cell in line.split("│") if cell.strip()]
        if cells and cells[0] in {str(day) for day in DAYS}:
            rows[cells[0]] = cells
    return rows


# The demo fixture (up + three days through Airflow) runs inside this test's time limit.
@pytest.mark.timeout(1800)
def test_demo_backfills_three_days_through_airflow(demo: Demo) -> None:
    rows = summary_rows(demo.output)
    assert sorted(rows) == [str(day) for day in DAYS], demo.output
    for cells in rows.values():
        # day, run state, duration, checks, gold stocks
        assert (cells[1], cells[3], cells[4]) == ("success", "5 pass", str(TICKERS)), cells
    for day in DAYS:  # the backfill showed each day's progress, task by task
        assert f"{day}: running: finalize" in demo.progress and f"{day}: success" in demo.progress
    lines = demo.output.splitlines()
    header = next(i for i, line in enumerate(lines) if "bronze_rows" in line)
    first_row = next(line for line in lines[header + 1 :] if "│" in line)
    values = [cell.strip() for cell in first_row.split("│") if cell.strip()]
    # Every simulated trade of the three days in bronze and silver, none quarantined, one
    # gold.stock_daily row per ticker and day.
    assert values[:4] == [str(3 * PER_DAY), str(3 * PER_DAY), "0", str(3 * TICKERS)], demo.output
    assert demo.settings.airflow_url in demo.output
    assert "admin" in demo.output


def test_the_runs_rendered_the_six_analyses(demo: Demo) -> None:
    start, end = trailing_window(DAYS[-1], demo.settings.render_window_days)
    window = demo.settings.reports_dir / f"{start}_{end}"
    assert str(window / REPORT_FILE) in demo.output, "the demo says where the report is"
    for folder in (window, *(demo.settings.reports_dir / str(day) for day in DAYS)):
        html = (folder / REPORT_FILE).read_text()
        for chart in CHART_FILES:
            assert (folder / chart).stat().st_size > 10_000, folder / chart
            assert f'src="{chart}"' in html, (folder, chart)
    # The window's report shows each demo day reconciled.
    html = (window / REPORT_FILE).read_text()
    for day in DAYS:
        assert str(day) in html


def test_airflow_reports_every_component_healthy(demo: Demo) -> None:
    body = requests.get(f"{demo.api}/monitor/health", timeout=10).json()
    for component in ("metadatabase", "scheduler", "dag_processor", "triggerer"):
        assert body[component]["status"] == "healthy", body


def is_airflow(pid: int) -> bool:
    """Whether the process is one of Airflow's (`airflow <command>`, or a child renamed by it)."""
    try:
        command = psutil.Process(pid).cmdline()
    except psutil.Error:
        return False
    return any(Path(part.split()[0]).name == "airflow" for part in command[:2] if part.strip())


def test_every_service_listens_on_the_loopback_only(demo: Demo) -> None:
    """Security default: the broker, the stream's Spark driver, the SQL engine, the dashboard and
    Airflow's four components listen on 127.0.0.1 only, and Airflow's log servers are not started."""
    s = demo.settings
    listeners = instance_listeners(s.run_dir)
    assert exposed(listeners) == [], exposed(listeners)
    ports = {item.port for item in listeners}
    assert {s.kafka_port, s.kafka_controller_port, s.sql_port, s.dashboard_port, s.airflow_port} <= ports
    # The log ports were free when the test picked them, so any process may since have been given
    # one as an ephemeral port (a Spark driver, a Py4J callback server): only Airflow's must not.
    log_servers = [
        item
        for item in listeners
        if item.port in {s.airflow_worker_log_port, s.airflow_trigger_log_port} and is_airflow(item.pid)
    ]
    assert log_servers == [], log_servers
    stream_pid = next(
        int(path.read_text().split()[0]) for path in s.run_dir.glob("*.pid") if path.stem.startswith("stream")
    )
    assert any(item.name == "java" for item in listening_addresses([stream_pid])), "the stream's JVM is seen"


def test_the_api_is_behind_a_login(demo: Demo) -> None:
    assert requests.get(f"{demo.api}/dags", timeout=10).status_code == 401
    ui = requests.get(demo.settings.airflow_url, timeout=10)
    assert ui.status_code == 200 and "<html" in ui.text.lower()


def stockstream_bin() -> str:
    return str(PROJECT_ROOT / ".venv" / "bin" / "stockstream")


def stockstream(demo: Demo, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"), *args],
        env=demo.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def table_hashes(settings: Settings, names: list[str] | None = None) -> dict[str, str]:
    """Every row of every lakehouse table (or of `names`), bookkeeping columns included,
    canonically ordered and hashed: equal hashes, equal tables."""
    hashes = {}
    for name in names or sorted(registry()):
        frame = lake.read(settings, name)
        text = sorted(json.dumps(row, default=repr, sort_keys=True) for row in frame.to_dict("records"))
        hashes[name] = hashlib.sha256("\n".join(text).encode()).hexdigest()
    return hashes


def chart_hashes(settings: Settings) -> dict[str, str]:
    """Every chart rendered so far (report.html shows the tables' Delta versions, which a re-run's
    no-op commits may advance, so the pages are not compared byte for byte)."""
    return {
        str(path.relative_to(settings.reports_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(settings.reports_dir.rglob("*.png"))
    }


def test_backfilling_the_same_days_again_changes_no_table(demo: Demo) -> None:
    """Invariant 5: every task of the three runs runs again (extract finds its rows held, the replay is
    skipped as recorded, finalize recomputes, render redraws) and no table row, no chart changes."""
    tables, charts = table_hashes(demo.settings), chart_hashes(demo.settings)
    again = stockstream(
        demo,
        "backfill",
        "--start",
        str(DAYS[0]),
        "--end",
        str(DAYS[-1]),
        "--source",
        "offline",
        "--reprocess",
        "completed",
        timeout=1500,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    rows = summary_rows(again.stdout)
    assert sorted(rows) == [str(day) for day in DAYS], again.stdout
    assert all(cells[1] == "success" for cells in rows.values()), again.stdout
    assert table_hashes(demo.settings) == tables
    assert chart_hashes(demo.settings) == charts


@pytest.mark.timeout(2400)
def test_a_killed_task_is_retried_and_a_cleared_run_runs_again_changing_no_table(demo: Demo) -> None:
    """Invariant 5 under faults: market_day triggered over the REST API for the demo's last day
    (already processed), its finalize task's process tree (Airflow's task runner and its Spark
    JVM) SIGKILLed 15 s into its first try; Airflow retries it and it succeeds on try 2. Then
    every task of that run is cleared and runs again. Neither changes a table row (every column)
    nor a chart."""
    from stockstream.chaos.airflow_faults import clear_run_and_rerun, kill_task_and_retry

    tables, charts = table_hashes(demo.settings), chart_hashes(demo.settings)
    killed, run = kill_task_and_retry(demo.settings, DAYS[-1], "finalize", delay=15.0)
    # Killed while it ran (it takes 40 s or more here); on a day already processed the finaliser
    # finds every table equal to its recomputation and commits nothing.
    assert run.killed_after is not None and run.killed_after >= 15, run
    assert run.commits_before_kill == 0, run
    # Airflow keeps the killed try in the task's history as failed.
    finalize = (run.first_try, run.tries["finalize"], run.task_states["finalize"])
    assert finalize == ("failed", 2, "success"), run
    assert run.state == "success", run.task_states
    assert run.changed == [], killed.failures
    assert (killed.trials, killed.passed, killed.lost, killed.duplicated) == (1, 1, 0, 0), run
    # Every table was hashed: bronze and silver alone hold every trade of the demo's days.
    assert killed.records > 2 * 3 * PER_DAY
    # Recovery: the kill to the run's success, the retry's 30-60 s backoff included.
    assert run.recovery_seconds is not None and run.recovery_seconds > 30
    assert killed.recovery_seconds == [run.recovery_seconds]

    cleared, rerun = clear_run_and_rerun(demo.settings, run.run_id)
    assert rerun.state == "success" and set(rerun.task_states.values()) == {"success"}, rerun.task_states
    assert rerun.tries == {task: number + 1 for task, number in run.tries.items()}, "every task ran again"
    assert rerun.changed == [], cleared.failures
    assert (cleared.trials, cleared.passed, cleared.lost, cleared.duplicated) == (1, 1, 0, 0), rerun
    assert table_hashes(demo.settings) == tables
    assert chart_hashes(demo.settings) == charts


def airflow_python(demo: Demo, code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Python with the demo's Airflow configuration (its metadata database, dags, plugins)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**demo.env, **airflow_env(demo.settings)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_dag_test_runs_an_older_day_against_the_running_platform(demo: Demo) -> None:
    """market_day's dag.test() for a day before the demo's: extract, replay into the real broker,
    the running stream, finalize, render. The day gets its gold, its six charts and five
    passing checks (invariant 6: an older day backfilled after newer ones), and the newer days'
    gold does not change."""
    newer = lake.read(demo.settings, STOCK_DAILY, where=[("trade_date", ">=", DAYS[0])])
    # dag.test() runs the tasks in this process, but its run is a real, running run in the
    # metadata database: with market_day unpaused (the tests before unpaused it) the live
    # scheduler runs the same task instances too, and whichever is second fails
    # ("TI was not in a state where it could be marked as running"). Airflow's scheduler leaves
    # the runs of a paused DAG alone, so pause it for the test, as a user would.
    api = AirflowApi(demo.settings)
    was_paused = bool(api.wait_for_dag("market_day").get("is_paused"))
    api.set_paused("market_day", True)
    code = (
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(PROJECT_ROOT / 'dags')!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        f"run = bag.get_dag('market_day').test(run_conf={{'day': '{OLDER}', 'source': 'offline'}})\n"
        "print('STATE', run.state)\n"
    )
    try:
        result = airflow_python(demo, code, timeout=900)
    finally:
        api.set_paused("market_day", was_paused)
    assert "STATE success" in result.stdout, result.stdout[-3000:] + result.stderr[-5000:]

    gold = lake.read(demo.settings, STOCK_DAILY, where=[("trade_date", "=", OLDER)])
    assert len(gold) == TICKERS and int(gold["trades"].sum()) == PER_DAY
    checks = lake.read(demo.settings, DATA_QUALITY, where=[("trade_date", "=", OLDER)])
    assert sorted(checks["status"]) == ["pass"] * 5, checks
    folder = demo.settings.reports_dir / str(OLDER)
    assert all((folder / chart).stat().st_size > 10_000 for chart in CHART_FILES)
    after = lake.read(demo.settings, STOCK_DAILY, where=[("trade_date", ">=", DAYS[0])])
    key = ["trade_date", "ticker"]
    assert after.sort_values(key).reset_index(drop=True).equals(newer.sort_values(key).reset_index(drop=True))


def test_a_dag_runs_when_triggered_over_the_rest_api(demo: Demo) -> None:
    """REST API v2 with a JWT from /auth/token: trigger market_reference and wait for success."""
    headers = {"Authorization": f"Bearer {demo.token()}"}
    dag_url = f"{demo.api}/dags/market_reference"
    errors = requests.get(f"{demo.api}/importErrors", headers=headers, timeout=10).json()
    assert errors["total_entries"] == 0, errors
    assert requests.patch(dag_url, json={"is_paused": False}, headers=headers, timeout=10).status_code == 200
    run = requests.post(
        f"{dag_url}/dagRuns",
        json={"logical_date": None, "conf": {"source": "offline"}},
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
    tasks = requests.get(f"{dag_url}/dagRuns/{run_id}/taskInstances", headers=headers, timeout=10).json()
    assert run_state() == "success", tasks
    returned = requests.get(
        f"{dag_url}/dagRuns/{run_id}/taskInstances/refresh_dim_stock/xcomEntries/return_value",
        headers=headers,
        timeout=10,
    ).json()
    assert returned["value"] == {"source": "offline", "stocks": TICKERS}, returned


def test_market_day_triggered_from_the_airflow_ui_succeeds(demo: Demo) -> None:
    """Headless Debian Chromium logs in, unpauses market_day, triggers it (its default day: the
    last weekday before today, the demo's last day) and sees the run succeed."""
    from tests.e2e import browser

    browser.ensure_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = browser.chrome()
    try:
        base = demo.settings.airflow_url
        browser.login(driver, base, "admin", demo.password())
        run_id = browser.unpause_and_trigger(driver, base, "market_day")
        state = browser.wait_for_run_state(driver, base, "market_day", run_id, timeout=900)
        browser.screenshot(driver, ARTIFACTS / "airflow-market_day-run.png")
        assert state == "success", run_id
        assert browser.console_errors(driver) == []
    finally:
        driver.quit()
    checks = lake.read(demo.settings, DATA_QUALITY, where=[("trade_date", "=", DAYS[-1])])
    assert sorted(checks["status"]) == ["pass"] * 5


def last_batch(folder: Path) -> int:
    """The highest micro-batch id with a file in a checkpoint folder (offsets/ or commits/)."""
    ids = [int(path.name) for path in folder.glob("*") if path.name.isdigit()]
    return max(ids, default=-1)


def stream_status(settings: Settings) -> dict[str, Any]:
    try:
        return dict(json.loads(settings.stream_status_file.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def test_a_sigkilled_stream_is_restarted_and_changes_nothing(demo: Demo) -> None:
    """Replay the demo's last day again (every record a duplicate), SIGKILL the streaming job while
    it works through them, and let the supervisor restart it: silver and gold end up identical to
    the uninterrupted run, updated_at included."""
    settings = demo.settings
    kept = [
        SILVER_TRANSACTIONS,
        SILVER_QUARANTINE,
        *(name for name in registry() if name.startswith("gold.")),
    ]
    before = table_hashes(settings, kept)
    bronze_before = len(lake.read(settings, BRONZE_TRANSACTIONS, columns=["offset"]))
    status = stream_status(settings)
    killed = status["pid"]
    processed = sum(status["silver_offsets"].values())
    checkpoint = table(SILVER_TRANSACTIONS).checkpoint(settings)
    started_before = last_batch(checkpoint / "offsets")

    replay = subprocess.Popen(
        [
            str(PROJECT_ROOT / ".venv" / "bin" / "stockstream"),
            "replay",
            "--start",
            str(DAYS[-1]),
            "--end",
            str(DAYS[-1]),
        ],
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
    assert sum(stream_status(settings)["silver_offsets"].values()) < processed + PER_DAY, (
        "silver finished the replay before the kill: the test proves nothing"
    )
    assert replay.wait(timeout=300) == 0

    assert wait_until(lambda: stream_status(settings).get("pid") not in (None, killed), 240, 1), (
        "the supervisor restarted the job"
    )
    waited = stockstream(demo, "wait", "--timeout", "600")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert "exit code -9 (SIGKILL)" in Path(settings.log_dir / "stream.log").read_text()

    assert table_hashes(settings, kept) == before
    bronze = len(lake.read(settings, BRONZE_TRANSACTIONS, columns=["offset"]))
    assert bronze == bronze_before + PER_DAY, "bronze keeps every record"


def test_the_dashboard_follows_a_live_market(demo: Demo) -> None:
    """`stockstream up` started the dashboard and `status` names its URL. In headless Chromium it
    loads without console errors and shows the six analyses of the demo's days; then
    `stockstream simulate --live` publishes AAPL trades, the stream processes them and the live
    price on the page moves, without a reload."""
    from tests.e2e import browser
    from tests.e2e.dashboard_page import (
        full_page_screenshot,
        open_dashboard,
        shown_price,
        wait_for_charts,
        wait_for_price,
    )

    status = stockstream(demo, "status", timeout=120)
    url = demo.settings.dashboard_url
    assert any("dashboard" in line and url in line for line in status.stdout.splitlines()), status.stdout
    browser.ensure_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver = browser.chrome()
    live, errors = None, ""
    try:
        open_dashboard(driver, url, ticker="AAPL")
        assert len(wait_for_charts(driver)) == 6
        ticker, before = shown_price(driver)
        assert ticker == "AAPL" and before is not None, "AAPL's price from the demo's gold"
        live = subprocess.Popen(
            [stockstream_bin(), "simulate", "--live", "--always-open", "--tickers", "AAPL", "--rate", "20"],
            env=demo.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            moved = wait_for_price(driver, "AAPL", lambda price: price != before, timeout=240)
        except AssertionError as exc:
            if live.poll() is None:
                raise
            assert live.stderr is not None
            raise AssertionError(
                f"{exc}; simulate --live exited {live.returncode}: {live.stderr.read()}"
            ) from None
        assert moved != before
        full_page_screenshot(driver, ARTIFACTS / "dashboard-live.png")
        assert browser.console_errors(driver) == []
    finally:
        driver.quit()
        if live is not None:
            # SIGTERM, not SIGINT: the suite may run in a background job, whose children ignore SIGINT.
            live.terminate()
            try:
                _, errors = live.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                live.kill()  # never leave it publishing into the next tests
                _, errors = live.communicate()
                errors = "no exit 60 s after SIGTERM\n" + errors
    assert live is not None and live.returncode == 0, errors
    # Last of the tests that change data (the live trades' minute bars close whenever the
    # stream's watermark passes them, so no table snapshot is taken after this test).
    waited = stockstream(demo, "wait", "--timeout", "600")
    assert waited.returncode == 0, waited.stdout + waited.stderr


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
    assert len(pids) == 8, (
        "the broker, the stream, the SQL engine, the dashboard and Airflow's four components"
    )


def test_down_leaves_no_process_behind(demo: Demo) -> None:
    assert our_processes(demo.settings), "the services were found while running"
    result = make("down", demo.env, timeout=180)
    assert result.returncode == 0, result.stderr
    for service in ("airflow", "kafka", "stream", "sql", "dashboard"):
        assert service in result.stdout, result.stdout
    leftover = our_processes(demo.settings)
    assert leftover == [], leftover
    again = make("down", demo.env, timeout=60)
    assert again.returncode == 0 and "nothing was running" in again.stdout
    assert not list(Path(demo.settings.run_dir).glob("*.pid"))
