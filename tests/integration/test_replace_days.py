"""replace_days, the daily gold tables' write: only days whose rows changed are rewritten, unchanged
rows keep when they were written, and writing the same rows again commits nothing."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from stockstream.pipeline.writes import replace_days

pytestmark = pytest.mark.integration

MON, TUE, WED = date(2026, 10, 5), date(2026, 10, 6), date(2026, 10, 7)
EARLY, LATE = datetime(2026, 10, 5, 21, 0, 0, 123456), datetime(2026, 10, 8, 9, 30, 0, 654321)
SCHEMA = "trade_date DATE, ticker STRING, volume BIGINT, growth_pct DOUBLE, updated_at TIMESTAMP"
Row = tuple[date, str, int, float | None, datetime]


def frame(spark: SparkSession, rows: list[Row]) -> DataFrame:
    return spark.createDataFrame(rows, SCHEMA)


def held(spark: SparkSession, path: Path) -> set[Row]:
    return {tuple(row) for row in spark.read.format("delta").load(str(path)).collect()}  # type: ignore[misc]


def version(spark: SparkSession, path: Path) -> int:
    return int(spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()["version"])  # type: ignore[index]


@pytest.fixture
def table(spark: SparkSession, tmp_path: Path) -> Path:
    path = tmp_path / "stock_daily"
    spark.sql(
        f"CREATE TABLE delta.`{path}` (trade_date DATE NOT NULL, ticker STRING NOT NULL, volume BIGINT, "
        "growth_pct DOUBLE, updated_at TIMESTAMP NOT NULL) USING delta PARTITIONED BY (trade_date)"
    )
    frame(
        spark,
        [
            (MON, "AAPL", 100, 1.5, EARLY),
            (TUE, "AAPL", 200, float("nan"), EARLY),
            (TUE, "SAP", 300, -0.5, EARLY),
            (TUE, "BHP.AX", 400, None, EARLY),
            (WED, "AAPL", 500, 2.0, EARLY),
        ],
    ).write.format("delta").mode("append").save(str(path))
    return path


def test_only_changed_days_are_rewritten_and_unchanged_rows_keep_their_time(
    spark: SparkSession, table: Path
) -> None:
    before = version(spark, table)
    source = frame(
        spark,
        [
            (TUE, "AAPL", 200, float("nan"), LATE),  # unchanged (NaN equals NaN)
            (TUE, "SAP", 350, -0.5, LATE),  # updated
            (TUE, "NESN.SW", 50, 0.0, LATE),  # inserted; BHP.AX gone from the source: deleted
            (WED, "AAPL", 500, 2.0, LATE),  # unchanged day
        ],
    )
    changed = replace_days(spark, table, source, ("trade_date", "ticker"), [TUE, WED])
    assert changed == 3
    assert version(spark, table) == before + 1, "one commit: Tuesday's partition"
    rows = held(spark, table)
    assert {r for r in rows if r[0] == MON} == {(MON, "AAPL", 100, 1.5, EARLY)}, "a day not named: untouched"
    assert {r for r in rows if r[0] == WED} == {(WED, "AAPL", 500, 2.0, EARLY)}, "unchanged: not rewritten"
    tuesday = {r[1]: r for r in rows if r[0] == TUE}
    assert set(tuesday) == {"AAPL", "SAP", "NESN.SW"}
    assert tuesday["AAPL"][4] == EARLY, "an unchanged row keeps when it was written, to the microsecond"
    assert tuesday["SAP"][2:] == (350, -0.5, LATE)
    assert tuesday["NESN.SW"][2:] == (50, 0.0, LATE)

    again = replace_days(spark, table, source, ("trade_date", "ticker"), [TUE, WED])
    assert again == 0
    assert version(spark, table) == before + 1, "the same rows again: no commit"


def test_a_day_the_source_no_longer_has_is_emptied(spark: SparkSession, table: Path) -> None:
    empty = frame(spark, [])
    assert replace_days(spark, table, empty, ("trade_date", "ticker"), [TUE]) == 3
    assert {r[0] for r in held(spark, table)} == {MON, WED}
    assert replace_days(spark, table, empty, ("trade_date", "ticker"), []) == 0
