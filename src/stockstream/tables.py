"""The table registry: every lakehouse table's name, DDL, storage path and checkpoints, read from
the DDL files in lakehouse/ (one file per table, named after it)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from stockstream.config import PROJECT_ROOT, Settings
from stockstream.errors import StockstreamError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

LAKEHOUSE_DIR = PROJECT_ROOT / "lakehouse"
_CREATE = re.compile(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([a-z_]+)\.([a-z_]+)\s*\(", re.IGNORECASE)

BRONZE_TRANSACTIONS = "bronze.transactions"
DIM_STOCK = "reference.dim_stock"
DAILY_BARS = "reference.daily_bars"
REPLAY_MANIFEST = "ops.replay_manifest"
STREAM_PROGRESS = "ops.stream_progress"
DATA_QUALITY = "ops.data_quality"
SILVER_TRANSACTIONS = "silver.transactions"
SILVER_QUARANTINE = "silver.quarantine"
STOCK_DAILY = "gold.stock_daily"
INDUSTRY_DAILY = "gold.industry_daily"
COUNTRY_DAILY = "gold.country_daily"
TECH_DAILY = "gold.tech_daily"
ACTION_DAILY = "gold.action_daily"
MINUTE_BARS = "gold.minute_bars"
ALERTS = "gold.alerts"


@dataclass(frozen=True)
class Table:
    """A Delta table: `schema.name`, its DDL (without LOCATION) and where it lives."""

    schema: str
    name: str
    ddl: str

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def path(self, settings: Settings) -> Path:
        return settings.lakehouse_dir / self.schema / self.name

    def checkpoint(self, settings: Settings, sink: str = "main") -> Path:
        """The checkpoint of one streaming sink writing this table: each sink has its own."""
        return settings.checkpoint_dir / self.schema / self.name / sink

    def exists(self, settings: Settings) -> bool:
        """True from the table's first commit: a writer creates _delta_log a moment before its
        first version, and Spark refuses to register (or read) the table in between."""
        log = self.path(settings) / "_delta_log"
        return (log / "_last_checkpoint").is_file() or next(log.glob("*.json"), None) is not None

    def ref(self, settings: Settings) -> str:
        """The table in SQL by its path (delta.`...`): right whatever the session's catalog holds."""
        return "delta.`" + str(self.path(settings)).replace("`", "``") + "`"

    def read(self, spark: SparkSession, settings: Settings) -> DataFrame:
        """The table as a batch DataFrame, read by path."""
        return spark.read.format("delta").load(str(self.path(settings)))


def parse_ddl(path: Path) -> Table:
    """Read one DDL file; its file name must be the table's qualified name."""
    text = path.read_text()
    match = _CREATE.search(text)
    if match is None:
        raise StockstreamError(f"{path} holds no `CREATE TABLE IF NOT EXISTS schema.table (` statement")
    schema, name = match.group(1).lower(), match.group(2).lower()
    if path.stem != f"{schema}.{name}":
        raise StockstreamError(f"{path} defines {schema}.{name}: name the file {schema}.{name}.sql")
    if re.search(r"\bLOCATION\s+'", text, re.IGNORECASE):
        raise StockstreamError(f"{path} sets LOCATION: the registry places every table under the data root")
    return Table(schema=schema, name=name, ddl=text.strip().rstrip(";"))


@cache
def registry(folder: Path = LAKEHOUSE_DIR) -> dict[str, Table]:
    """Every table defined in lakehouse/, by qualified name."""
    tables = [parse_ddl(path) for path in sorted(folder.glob("*.sql"))]
    return {table.qualified: table for table in tables}


def table(name: str) -> Table:
    try:
        return registry()[name]
    except KeyError:
        known = ", ".join(sorted(registry()))
        raise StockstreamError(f"unknown table {name!r}", f"known tables: {known}") from None


def _match_end(ddl: str) -> int:
    match = _CREATE.search(ddl)
    assert match is not None, "parse_ddl checked the statement"
    return match.end()


def _quote(path: Path) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def register(spark: SparkSession, settings: Settings, create: tuple[str, ...] = ()) -> list[str]:
    """Make the tables queryable by name in this session: every table that exists on disk is
    registered at its location, and the tables named in `create` are created from their DDL
    when missing. Returns the names registered."""
    registered = []
    schemas = {row[0] for row in spark.sql("SHOW SCHEMAS").collect()}
    for name, entry in registry().items():
        present = entry.exists(settings)
        if not present and name not in create:
            continue
        if entry.schema not in schemas:
            spark.sql(f"CREATE SCHEMA IF NOT EXISTS {entry.schema}")
            schemas.add(entry.schema)
        location = _quote(entry.path(settings))
        if not present:
            # Created by path, then named: the catalog of a long-lived session may already hold
            # the name (at another data root), and the table must exist at this one regardless.
            head = f"CREATE TABLE IF NOT EXISTS {entry.ref(settings)} ("
            spark.sql(head + entry.ddl[_match_end(entry.ddl) :])
            log.info("created %s at %s", name, entry.path(settings))
        spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING delta LOCATION {location}")
        registered.append(name)
    return registered


def ensure(settings: Settings, names: tuple[str, ...]) -> None:
    """Create those of the named tables that do not exist yet, from their DDL (a Spark session,
    for the DDL's comments, constraints and properties). When they all exist, as on every run but
    the first, no JVM is started: the steps that write a few rows with delta-rs stay light."""
    missing = tuple(name for name in names if not table(name).exists(settings))
    if missing:
        from stockstream.spark import spark_session

        spark_session(settings, "stockstream-tables", create_tables=missing)
