"""Every DAG in dags/ imports cleanly, quickly, and follows the project's rules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from stockstream.config import PROJECT_ROOT

pytestmark = pytest.mark.dags

DAGS_DIR = PROJECT_ROOT / "dags"
HEAVY_MODULES = ("pyspark", "pandas", "kafka", "stockstream")


@pytest.fixture(scope="module")
def dagbag():  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert dagbag.dag_ids, "dags/ defines at least one DAG"


def test_every_dag_is_tagged_and_retries(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert "stockstream" in dag.tags, dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_skeleton_dag_wires_replay_wait_count(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["stockstream_skeleton"]
    assert {t.task_id for t in dag.tasks} == {"replay_sample", "wait_for_stream", "count_bronze"}
    assert dag.get_task("wait_for_stream").upstream_task_ids == {"replay_sample"}
    assert dag.get_task("count_bronze").upstream_task_ids == {"wait_for_stream"}
    assert dag.params["count"] == 1000


@pytest.mark.parametrize("path", sorted(DAGS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_do_no_heavy_imports_at_top_level(path: Path) -> None:
    """DAG files only wire: the dag-processor parses them often, so heavy modules load in tasks."""
    tree = ast.parse(path.read_text())
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert not name.startswith(HEAVY_MODULES), f"{path.name} imports {name} at top level"
