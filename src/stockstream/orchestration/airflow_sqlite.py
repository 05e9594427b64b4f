"""SQLite connections that make `airflow backfill create` one transaction, for the embedded default's
metadata database.

Airflow creates a backfill's runs one day at a time, each in a SAVEPOINT. Python's sqlite3 opens no
transaction before a SAVEPOINT, so SQLite makes that SAVEPOINT the transaction itself. Two things
follow:
- its RELEASE commits, so each day is committed on its own;
- the day's reads come before its first write. If the scheduler commits in between (it does, as
  soon as the day before is queued), SQLite refuses the write at once: "database is locked". Its
  busy timeout does not apply, as waiting cannot help a transaction that read an old snapshot.

The creation then stops half-way. One day is queued under a backfill that counts as running until
that day ends, and the next attempt is refused as "Another backfill is running".

`CONNECT_ARGS` makes such a SAVEPOINT open the transaction with BEGIN IMMEDIATE instead. The write
lock is then taken before the first read, waiting for it up to `BUSY_TIMEOUT`; the creation reads
current data and commits once, at its end.
"""

from __future__ import annotations

import sqlite3
from typing import Any

BUSY_TIMEOUT = 60.0  # seconds a connection waits for another's write lock
IMPORT_PATH = f"{__name__}.CONNECT_ARGS"  # for AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS


class ImmediateCursor(sqlite3.Cursor):
    """Begins a transaction with BEGIN IMMEDIATE before a SAVEPOINT that would start one."""

    def execute(self, sql: str, parameters: Any = (), /) -> ImmediateCursor:
        if not self.connection.in_transaction and sql.lstrip()[:9].upper() == "SAVEPOINT":
            super().execute("BEGIN IMMEDIATE")
        super().execute(sql, parameters)
        return self


class ImmediateConnection(sqlite3.Connection):
    """A sqlite3 connection whose cursors are `ImmediateCursor`s."""

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or ImmediateCursor)


# The DML that opens a transaction outside a SAVEPOINT begins IMMEDIATE as well.
CONNECT_ARGS: dict[str, Any] = {
    "factory": ImmediateConnection,
    "isolation_level": "IMMEDIATE",
    "timeout": BUSY_TIMEOUT,
}


def backfill_env(environ: dict[str, str]) -> dict[str, str]:
    """What to add to the environment of `airflow backfill create`: `CONNECT_ARGS` when the metadata
    database is SQLite (Airflow's default), nothing for any other database."""
    database = environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "sqlite")
    if not database.startswith("sqlite"):
        return {}
    return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": IMPORT_PATH}
