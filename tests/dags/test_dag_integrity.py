"""Every DAG in dags/ imports cleanly and quickly, only wires, and follows the project's rules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stockstream.config import PROJECT_ROOT

pytestmark = pytest.mark.dags

DAGS_DIR = PROJECT_ROOT / "dags"
EXPECTED_DAGS = {"market_day", "market_reference", "lakehouse_maintenance"}
# Modules a DAG file must not load while it is parsed (the dag-processor parses every 30 s).
HEAVY_MODULES = ("pyspark", "pandas", "kafka", "deltalake", "matplotlib", "seaborn", "yfinance")
PARSE_SECONDS = 2.0


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors_and_every_dag_is_there(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == EXPECTED_DAGS


def test_every_file_parses_quickly(dagbag) -> None:  # type: ignore[no-untyped-def]
    stats = {Path(stat.file).name: stat.duration for stat in dagbag.dagbag_stats}
    assert set(stats) == {path.name for path in DAGS_DIR.glob("*.py")}
    for name, duration in stats.items():
        assert duration < timedelta(seconds=PARSE_SECONDS), f"{name} took {duration} to parse"


def test_parsing_loads_no_heavy_module() -> None:
    """In a fresh interpreter, as the dag-processor would: what did parsing import?"""
    code = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        f"bag = DagBag(dag_folder={str(DAGS_DIR)!r})\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert "stockstream_airflow" in loaded  # the parse did import the DAGs' operators
    assert loaded.isdisjoint(HEAVY_MODULES), loaded & set(HEAVY_MODULES)


def test_every_dag_follows_the_house_rules(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert "stockstream" in dag.tags, dag_id
        assert dag.catchup is False, f"{dag_id}: history is backfilled on purpose, not caught up"
        assert dag.start_date.utcoffset() == timedelta(0), f"{dag_id} start_date is not in UTC"
        assert dag.max_active_runs == 1, dag_id
        assert dag.doc_md, f"{dag_id} has no documentation for the UI"
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"
            assert task.retry_exponential_backoff, f"{dag_id}.{task.task_id} retries without backoff"
            assert task.owner == "stockstream", f"{dag_id}.{task.task_id} owner {task.owner}"


def test_market_day_wiring(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["market_day"]
    upstream = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    assert upstream == {
        "trading_day": set(),
        "check_stream": {"trading_day"},
        "extract": {"trading_day"},
        "replay": {"check_stream", "extract"},
        "wait_for_stream": {"replay"},
        "finalize": {"wait_for_stream"},
        "render": {"finalize"},
    }
    wait = dag.get_task("wait_for_stream")
    assert wait.mode == "reschedule"
    assert wait.timeout == 1800 and wait.poke_interval == 10
    outlets = {
        task.task_id: sorted(asset.name for asset in task.outlets) for task in dag.tasks if task.outlets
    }
    assert outlets == {
        "extract": ["reference.daily_bars", "reference.dim_stock"],
        "replay": ["ops.replay_manifest"],
        "finalize": sorted(
            [
                "gold.action_daily",
                "gold.country_daily",
                "gold.industry_daily",
                "gold.minute_bars",
                "gold.stock_daily",
                "gold.tech_daily",
                "ops.data_quality",
            ]
        ),
        "render": ["reports"],
    }
    assert set(dag.params.keys()) == {"day", "source"}


def test_market_day_runs_once_a_day_for_that_day(dagbag) -> None:  # type: ignore[no-untyped-def]
    """Scheduled and backfilled runs cover one day each, from midnight UTC (weekend runs skip)."""
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable
    from airflow.timetables.base import TimeRestriction

    # The scheduler's view of the DAG's timetable (the SDK object only describes it).
    timetable = decode_timetable(encode_timetable(dagbag.dags["market_day"].timetable))
    monday = datetime(2026, 11, 16, tzinfo=UTC)
    restriction = TimeRestriction(earliest=monday, latest=monday + timedelta(days=7), catchup=True)
    infos, last = [], None
    while info := timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction):
        infos.append(info)
        last = info.data_interval
    starts = [info.data_interval.start for info in infos]
    assert starts == [monday + timedelta(days=n) for n in range(8)]
    assert all(info.data_interval.end - info.data_interval.start == timedelta(days=1) for info in infos)
    assert all(info.logical_date == info.data_interval.start for info in infos)


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_only_wire(path: Path) -> None:
    """No stockstream logic in DAG files: they import Airflow and the plugins' operators only."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            root = name.split(".")[0]
            assert root not in (*HEAVY_MODULES, "stockstream"), f"{path.name} imports {name} at top level"
