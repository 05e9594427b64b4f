"""Lakehouse maintenance: compact small files (OPTIMIZE) and remove files no version needs any
more (VACUUM), table by table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stockstream.config import Settings
from stockstream.pipeline.writes import retry_conflicts
from stockstream.tables import registry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# Delta's own floor: a shorter retention can delete files a running stream or a time-travel query
# still reads.
MIN_RETENTION_HOURS = 168


@dataclass(frozen=True)
class Maintained:
    """What maintenance did to one table."""

    table: str
    files_before: int
    files_after: int
    files_compacted: int


def _files(spark: SparkSession, path: str) -> int:
    from delta.tables import DeltaTable

    detail = DeltaTable.forPath(spark, path).detail().first()
    return int(detail["numFiles"]) if detail is not None else 0


def maintain(
    spark: SparkSession,
    settings: Settings,
    retain_hours: int = MIN_RETENTION_HOURS,
    on_table: Callable[[Maintained], None] | None = None,
    tables: Collection[str] | None = None,
) -> list[Maintained]:
    """OPTIMIZE then VACUUM every table that exists (or those named); retries when a writer (the
    stream) conflicts."""
    from delta.tables import DeltaTable

    if retain_hours < MIN_RETENTION_HOURS:
        raise ValueError(f"retention must be at least {MIN_RETENTION_HOURS} hours")
    done = []
    for name, entry in sorted(registry().items()):
        if not entry.exists(settings) or (tables is not None and name not in tables):
            continue
        path = str(entry.path(settings))
        before = _files(spark, path)
        metrics = retry_conflicts(
            lambda path=path: DeltaTable.forPath(spark, path).optimize().executeCompaction().first(),  # type: ignore[misc]
            f"optimize {name}",
        )
        compacted = int(metrics["metrics"]["numFilesRemoved"]) if metrics is not None else 0
        DeltaTable.forPath(spark, path).vacuum(retain_hours)
        result = Maintained(name, before, _files(spark, path), compacted)
        log.info("%s: %d -> %d files", name, result.files_before, result.files_after)
        if on_table is not None:
            on_table(result)
        done.append(result)
    return done
