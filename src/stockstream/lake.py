"""Light reads of Delta tables without a JVM (delta-rs): for small, bounded reads such as the ops
tables a sensor polls and the gold rows a chart needs.

A read here sees the latest committed snapshot (or the one given), exactly as a Spark batch read
would; it is for processes where a SparkSession would cost more than the read itself (an Airflow
sensor poke, a render, the dashboard, the few gold rows of a day the stream compares before it
writes them: pipeline/writes.replace_days), never for unbounded scans. The delta-rs writes are all
in pipeline/writes.py, for a few rows at a time (reference data, the replay manifest, a day's gold
rows, progress rows); Spark writes the rest and creates every table from its DDL.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from stockstream.config import Settings
from stockstream.tables import table

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

# A delta-rs filter term: (column, operator, value), e.g. ("trade_date", ">=", date(2026, 1, 5)).
Filter = tuple[str, str, Any]


def read(
    settings: Settings,
    name: str,
    columns: Sequence[str] | None = None,
    where: Sequence[Filter] = (),
) -> pd.DataFrame:
    """The rows of table `name` matching every `where` term (partition pruning on partition
    columns, row-group statistics on the others); an empty frame when the table does not exist."""
    scan = _scan(settings, name, where)
    if scan is None:
        return pd.DataFrame(columns=list(columns or []))
    dataset, expression = scan
    return dataset.to_table(columns=list(columns) if columns else None, filter=expression).to_pandas()


def scan_files(settings: Settings, name: str, where: Sequence[Filter] = ()) -> list[str]:
    """The data files (relative to the table's folder) a `read` with the same `where` opens: those
    of the matching partitions whose per-file statistics do not rule the terms out."""
    scan = _scan(settings, name, where)
    if scan is None:
        return []
    dataset, expression = scan
    return sorted(fragment.path for fragment in dataset.get_fragments(filter=expression))


def read_path(
    path: Path, columns: Sequence[str], where: Sequence[Filter] = (), snapshot: DeltaTable | None = None
) -> pa.Table:
    """`read` of the Delta table at `path` (it must exist) as an Arrow table: the values keep
    their types (a pandas frame would make a nullable integer a float), for code that compares
    them with rows Spark collected. `snapshot`: the table as loaded by delta-rs at the version the
    caller will commit against (default: the latest)."""
    dataset, expression = _dataset(path, where, snapshot)
    return dataset.to_table(columns=list(columns), filter=expression)


def _scan(settings: Settings, name: str, where: Sequence[Filter]) -> tuple[Any, Any] | None:
    """(pyarrow dataset of the table's latest snapshot, filter expression of `where`), or None
    when the table does not exist."""
    spec = table(name)
    if not spec.exists(settings):
        return None
    return _dataset(spec.path(settings), where)


def _dataset(path: Path, where: Sequence[Filter], delta: DeltaTable | None = None) -> tuple[Any, Any]:
    import pyarrow.dataset as ds
    import pyarrow.fs as pa_fs
    from deltalake import DeltaTable

    delta = DeltaTable(str(path)) if delta is None else delta
    # Arrow's own local filesystem, not delta-rs' default Python-backed one: Arrow's IO threads
    # calling into Python were seen to abort the interpreter at exit ("terminate called without
    # an active exception"). The lakehouse is on a local path; file paths are relative to it.
    local = pa_fs.SubTreeFileSystem(str(path), pa_fs.LocalFileSystem())
    # Each fragment carries its partition values and its file's min/max statistics, so the
    # filter prunes whole files before any is opened.
    dataset = delta.to_pyarrow_dataset(filesystem=local)
    expression = None
    for column, op, value in where:
        term = _expression(ds.field(column), op, value)
        expression = term if expression is None else expression & term
    return dataset, expression


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "in": lambda field, values: field.isin(list(values)),
}


def _expression(field: Any, op: str, value: Any) -> Any:
    if op not in _COMPARE:
        raise ValueError(f"unsupported filter operator {op!r}: use one of {', '.join(_COMPARE)}")
    return _COMPARE[op](field, value)


def version(settings: Settings, name: str) -> int | None:
    """The table's latest committed version (None when it does not exist): cheap freshness check."""
    from deltalake import DeltaTable

    spec = table(name)
    if not spec.exists(settings):
        return None
    return int(DeltaTable(str(spec.path(settings))).version())
