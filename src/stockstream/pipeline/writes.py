"""Idempotent Delta writes: appends that carry txnAppId/txnVersion, day-scoped MERGEs that change
only rows whose values changed, and retries when a concurrent writer won the race."""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pyspark.sql import DataFrame, SparkSession

if TYPE_CHECKING:
    import pyarrow as pa
    from deltalake import DeltaTable

log = logging.getLogger(__name__)

T = TypeVar("T")
# Columns that record when a row was written: a recomputation that changes nothing else must not
# rewrite the row just to move them (so running a day again leaves every table as it was).
BOOKKEEPING = frozenset({"updated_at", "checked_at"})


def date_list(dates: Iterable[date]) -> str:
    """A SQL list of DATE literals; the values are dates, never user text."""
    return ", ".join(f"DATE'{day.isoformat()}'" for day in sorted(set(dates)))


def retry_conflicts(write: Callable[[], T], what: str, attempts: int = 6) -> T:
    """Run a Delta write, again when a concurrent transaction conflicted with it (the stream and
    the day finaliser write the same gold tables); each attempt re-reads the table."""
    from delta.exceptions import (
        ConcurrentAppendException,
        ConcurrentDeleteDeleteException,
        ConcurrentDeleteReadException,
        ConcurrentTransactionException,
        ConcurrentWriteException,
        MetadataChangedException,
    )
    from deltalake.exceptions import CommitFailedError

    conflicts = (
        CommitFailedError,  # delta-rs (replace_days, merge_rows): a concurrent transaction won
        ConcurrentAppendException,
        ConcurrentDeleteDeleteException,
        ConcurrentDeleteReadException,
        ConcurrentTransactionException,
        ConcurrentWriteException,
        MetadataChangedException,
    )
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except Exception as exc:
            # SQL MERGEs (spark.sql) surface Delta's conflicts as Py4JJavaError, not as the
            # Python classes the DeltaTable API raises: recognise them by the Java class name.
            conflict = isinstance(exc, conflicts) or "io.delta.exceptions.Concurrent" in str(exc)
            if not conflict or attempt == attempts:
                raise
            pause = min(8.0, 0.25 * 2**attempt) * (0.5 + random.random())  # noqa: S311 - jitter only
            log.warning(
                "%s conflicted with a concurrent write (%s); retry %d in %.1fs",
                what,
                type(exc).__name__,
                attempt,
                pause,
            )
            time.sleep(pause)
    raise AssertionError("unreachable")


def append_rows(
    path: Path, rows: Sequence[Mapping[str, Any]], *, app_id: str | None = None, version: int | None = None
) -> bool:
    """Append a few rows (dicts of the table's columns; naive datetimes are UTC) to a Delta table
    with delta-rs from the driver, where a Spark write would cost jobs and a snapshot rebuild for
    one row. With app_id/version, as append_once: nothing is written when that transaction already
    committed to the table (Delta's own txn action, the one Spark's txnAppId/txnVersion write).
    Returns whether it appended."""
    import pyarrow as pa
    from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

    if not rows:
        return False
    delta = DeltaTable(str(path))
    commit = None
    if app_id is not None and version is not None:
        done = delta.transaction_version(app_id)
        if done is not None and done >= version:
            return False
        commit = CommitProperties(app_transactions=[Transaction(app_id, version)])
    data = pa.Table.from_pylist(list(rows), schema=pa.schema(delta.schema().to_arrow()))
    write_deltalake(delta, data, mode="append", commit_properties=commit)
    return True


def merge_rows(
    path: Path,
    rows: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    stamp: str,
    *,
    partition: str | None = None,
    what: str = "merge",
) -> int:
    """Upsert a few rows (dicts of every column but `stamp`) into a Delta table on `keys` with
    delta-rs from the driver: new keys are inserted, a row is updated only when a value changed,
    and `stamp` (when the row was written) moves only with them, so running it again changes
    nothing. The comparison is on the driver; what changed is written by one overwrite of the
    `partition` (a DATE partition column) values it touches (the whole table without one), every other
    row of them rewritten as it was, committed against the snapshot compared (a concurrent commit
    fails it and it is retried from a fresh read: retry_conflicts).

    Not delta-rs' MERGE: its rewritten files (deltalake 1.6) declare their strings as Arrow
    string_view, on which pyarrow has no comparison kernel, so every later filtered read of the
    table with lake.read failed. write_deltalake writes the Arrow types it is given, the table's.
    Returns the rows inserted or updated."""
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    from stockstream import lake

    if not rows:
        return 0
    now = datetime.now(UTC)

    def key_of(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[k] for k in keys)

    def write() -> int:
        delta = DeltaTable(str(path))
        schema = pa.schema(delta.schema().to_arrow())
        missing = set(schema.names) - {*rows[0], stamp}
        if missing:
            raise ValueError(f"{what}: the rows lack the columns {', '.join(sorted(missing))}")
        values = [c for c in schema.names if c not in keys and c != stamp]
        scope = sorted({row[partition] for row in rows}) if partition else []
        where: list[lake.Filter] = [(partition, "in", scope)] if partition else []
        held = {
            key_of(row): row for row in lake.read_path(path, schema.names, where, snapshot=delta).to_pylist()
        }
        touched: set[Any] = set()
        changed = 0
        for row in rows:
            old = held.get(key_of(row))
            if old is not None and all(_same(row[c], old[c]) for c in values):
                continue
            held[key_of(row)] = {**row, stamp: now}
            touched.add(row[partition] if partition else None)
            changed += 1
        if not changed:
            return 0
        kept = [row for row in held.values() if (row[partition] if partition else None) in touched]
        data = pa.Table.from_pylist(kept, schema=schema)
        if partition:
            write_deltalake(delta, data, mode="overwrite", predicate=f"{partition} IN ({date_list(touched)})")
        else:
            write_deltalake(delta, data, mode="overwrite")
        return changed

    return retry_conflicts(write, what)


def checkpoint_app_id(checkpoint: Path, query: str) -> str:
    """The txnAppId of a query's foreachBatch writes: tied to its checkpoint's id, so a new
    checkpoint (batch ids from 0 again) never has its writes skipped as already done."""
    try:
        query_id = json.loads((checkpoint / "metadata").read_text())["id"]
    except (FileNotFoundError, ValueError, KeyError):
        query_id = "no-checkpoint"
    return f"stockstream.{query}.{query_id}"


def append_once(frame: DataFrame, path: Path, app_id: str, version: int) -> None:
    """Append, unless this (app_id, version) already committed to the table: a retried batch
    writes nothing twice."""
    (
        frame.write.format("delta")
        .mode("append")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version))
        .save(str(path))
    )


def merge_days(
    spark: SparkSession,
    path: Path,
    source: DataFrame,
    keys: Sequence[str],
    dates: Iterable[date],
    *,
    delete_missing: bool = True,
    skip_unchanged: bool = False,
    what: str = "merge",
) -> int:
    """Make the table's rows of these trade_dates equal to `source`: insert new keys, update rows
    whose values changed (only those), and with delete_missing remove keys of these dates that the
    source no longer has. Replaying it changes nothing. Returns the rows it changed (inserted,
    updated or deleted): 0 exactly when the table already held `source` (bookkeeping aside).

    With skip_unchanged both sides are first compared on the driver (for small slices whose
    usual state is "already equal", as the finaliser's): no MERGE at all when nothing differs.
    A MERGE that changes nothing still reads every file of the slice and commits a version."""
    from delta.tables import DeltaTable

    days = date_list(dates)
    if not days:
        return 0
    if skip_unchanged and not rows_to_change(spark, path, source, keys, dates, delete_missing=delete_missing):
        log.debug("%s: nothing to change, no MERGE", what)
        return 0
    scope = f"t.trade_date IN ({days})"
    match = " AND ".join([scope, *(f"t.{key} = s.{key}" for key in keys)])
    values = [c for c in source.columns if c not in keys and c not in BOOKKEEPING]
    changed = " OR ".join(f"NOT (t.{c} <=> s.{c})" for c in values)

    def write() -> int:
        merge = (
            DeltaTable.forPath(spark, str(path))
            .alias("t")
            .merge(source.alias("s"), match)
            .whenMatchedUpdateAll(condition=changed or None)
            .whenNotMatchedInsertAll()
        )
        if delete_missing:
            merge = merge.whenNotMatchedBySourceDelete(condition=scope)
        metrics = merge.execute().first()
        if metrics is None:
            return 0
        return sum(int(metrics[n]) for n in ("num_updated_rows", "num_deleted_rows", "num_inserted_rows"))

    started = time.monotonic()
    n = retry_conflicts(write, what)
    log.debug("%s: %d rows changed in %.1fs", what, n, time.monotonic() - started)
    return n


def _same(a: object, b: object) -> bool:
    """Equality as SQL's <=> sees it, NaN equal to NaN included (Spark orders NaN as one value)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def rows_to_change(
    spark: SparkSession,
    path: Path,
    source: DataFrame,
    keys: Sequence[str],
    dates: Iterable[date],
    *,
    delete_missing: bool = True,
) -> int:
    """How many rows merge_days would insert, update or delete, both sides collected to the
    driver (meant for slices of a few thousand rows). A value Python compares unequal where SQL
    would not (e.g. 0.1 as DECIMAL and as DOUBLE) only costs a MERGE that changes nothing."""
    from pyspark.sql import functions as F

    columns = [c for c in source.columns if c not in BOOKKEEPING]
    values = [c for c in columns if c not in keys]
    days = sorted(set(dates))
    held = spark.read.format("delta").load(str(path)).where(F.col("trade_date").isin(days)).select(*columns)

    def by_key(frame: DataFrame) -> dict[tuple[object, ...], tuple[object, ...]]:
        return {tuple(row[k] for k in keys): tuple(row[v] for v in values) for row in frame.collect()}

    wanted, current = by_key(source.select(*columns)), by_key(held)
    inserted = sum(1 for key in wanted if key not in current)
    deleted = sum(1 for key in current if key not in wanted) if delete_missing else 0
    updated = sum(
        1
        for key, row in wanted.items()
        if key in current and not all(_same(a, b) for a, b in zip(row, current[key], strict=True))
    )
    return inserted + deleted + updated


def held_rows(
    path: Path, delta: DeltaTable, columns: Sequence[str], stamps: set[str], days: Sequence[date]
) -> list[tuple[Any, ...]]:
    """The rows of these trade_dates in this snapshot of a Delta table, as tuples of `columns`,
    timestamps (the `stamps` columns) as epoch microseconds: the same values a Spark collect gives,
    read with delta-rs, without the Spark jobs a Delta read costs (snapshot, file filtering, scan)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from stockstream import lake

    found = lake.read_path(path, columns, [("trade_date", "in", days)], snapshot=delta)
    arrays = [
        pc.cast(pc.cast(found[c], pa.timestamp("us", tz="UTC")), pa.int64()) if c in stamps else found[c]
        for c in columns
    ]
    return list(zip(*(array.to_pylist() for array in arrays), strict=True))


def replace_days(
    spark: SparkSession,
    path: Path,
    source: DataFrame,
    keys: Sequence[str],
    dates: Iterable[date],
    *,
    what: str = "replace",
) -> int:
    """merge_days for small day slices (a daily gold table: tickers or groups x days): the source
    is collected (one Spark job), compared on the driver with what the table holds, and only the
    days whose rows differ are rewritten, whole, by one overwrite of their trade_date partitions
    written with delta-rs from the driver. A Spark MERGE or replaceWhere would cost seconds of jobs
    and snapshot rebuilding for a few hundred rows (BENCHMARKS.md), even when nothing changed.
    Rows whose values are unchanged keep their bookkeeping columns; keys the source no longer has
    are deleted. Returns the rows inserted, updated or deleted, as merge_days does; 0 means no
    commit. The overwrite commits against the snapshot the comparison read: a concurrent write to
    these days fails it, and it is retried from a fresh read (retry_conflicts)."""
    from deltalake import DeltaTable, write_deltalake
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    days = sorted(set(dates))
    if not days:
        return 0
    columns = source.columns
    # Timestamps cross to the driver as epoch microseconds: Python's naive datetimes would shift
    # by the process's timezone (and be ambiguous in a DST fall-back hour).
    stamps = {f.name for f in source.schema.fields if isinstance(f.dataType, TimestampType)}
    as_micros = [F.unix_micros(F.col(c)).alias(c) if c in stamps else F.col(c) for c in columns]
    position = {c: i for i, c in enumerate(columns)}
    key_at = [position[k] for k in keys]
    value_at = [i for c, i in position.items() if c not in keys and c not in BOOKKEEPING]
    day_at = position["trade_date"]
    wanted = [tuple(row) for row in source.select(*as_micros).collect()]

    def write() -> int:
        delta = DeltaTable(str(path))
        held = {tuple(row[i] for i in key_at): row for row in held_rows(path, delta, columns, stamps, days)}
        rows: list[tuple[object, ...]] = []
        changed_days: set[date] = set()
        changed = 0
        for row in wanted:
            old = held.pop(tuple(row[i] for i in key_at), None)
            if old is not None and all(_same(row[i], old[i]) for i in value_at):
                rows.append(old)  # unchanged: keeps when it was written
                continue
            rows.append(row)
            changed_days.add(row[day_at])
            changed += 1
        for old in held.values():  # left in held: keys the source no longer has
            changed_days.add(old[day_at])
            changed += 1
        if not changed_days:
            return 0
        written = arrow_rows(delta, columns, stamps, [row for row in rows if row[day_at] in changed_days])
        predicate = f"trade_date IN ({date_list(changed_days)})"
        write_deltalake(delta, written, mode="overwrite", predicate=predicate)
        return changed

    started = time.monotonic()
    n = retry_conflicts(write, what)
    log.debug("%s: %d rows changed in %.1fs", what, n, time.monotonic() - started)
    return n


def arrow_rows(
    delta: DeltaTable, columns: Sequence[str], stamps: set[str], rows: Sequence[tuple[Any, ...]]
) -> pa.Table:
    """Rows (tuples of `columns`, timestamps as epoch microseconds) as an Arrow table of the Delta
    table's own schema, its NOT NULL columns included (delta-rs refuses a null there)."""
    import pyarrow as pa

    schema = pa.schema(delta.schema().to_arrow())
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrays = []
    for name, column in zip(columns, values, strict=True):
        field = schema.field(name)
        if name in stamps:
            arrays.append(pa.array(column, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(column, field.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema([schema.field(name) for name in columns]))


def append_new(
    spark: SparkSession,
    path: Path,
    source: DataFrame,
    key: str,
    dates: Iterable[date],
    *,
    app_id: str,
    version: int,
) -> int:
    """Append the source rows whose key the table's rows of these trade_dates do not have yet,
    one file per trade_date, with txnAppId/txnVersion: what an insert-only MERGE on the key does,
    for a table only this writer inserts into (silver, under the stream's lock). A MERGE
    materialises its source and plans a join of its own, about three times the cost on a backlog
    (BENCHMARKS.md). A retried version appends nothing. Returns the rows appended (0 on a retry,
    the rows being there already)."""
    from pyspark.sql import functions as F

    days = sorted(set(dates))
    if not days:
        return 0
    held = spark.read.format("delta").load(str(path)).where(F.col("trade_date").isin(days)).select(key)
    new = source.join(held, key, "left_anti").repartition("trade_date").persist()
    try:
        count = new.count()
        if count:
            append_once(new, path, app_id, version)
        return count
    finally:
        new.unpersist()


def insert_new(
    spark: SparkSession,
    path: Path,
    source: DataFrame,
    keys: Sequence[str],
    dates: Iterable[date],
    *,
    what: str = "insert",
) -> int:
    """Insert the source rows whose keys the table's rows of these trade_dates do not have yet
    (an insert-only MERGE: Delta commits it as a plain append, so streams can read the table).
    Returns the rows inserted."""
    from delta.tables import DeltaTable

    days = date_list(dates)
    if not days:
        return 0
    match = " AND ".join([f"t.trade_date IN ({days})", *(f"t.{key} = s.{key}" for key in keys)])

    def write() -> int:
        metrics = (
            DeltaTable.forPath(spark, str(path))
            .alias("t")
            .merge(source.alias("s"), match)
            .whenNotMatchedInsertAll()
            .execute()
            .first()
        )
        return int(metrics["num_inserted_rows"]) if metrics is not None else 0

    return retry_conflicts(write, what)
