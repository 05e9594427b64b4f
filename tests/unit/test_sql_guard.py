"""`stockstream sql` runs a statement without --write only when read_only says it cannot write."""

from __future__ import annotations

import pytest

from stockstream.sql import read_only

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM gold.stock_daily",
        "select ticker, updated_at from gold.stock_daily where trade_date = '2026-10-06'",
        "  SELECT 1;  ",
        "(SELECT 1) UNION (SELECT 2)",
        "WITH d AS (SELECT * FROM silver.transactions) SELECT count(*) FROM d",
        "SHOW TABLES IN gold",
        "DESCRIBE gold.stock_daily",
        "DESC gold.stock_daily",
        "DESCRIBE HISTORY gold.stock_daily",
        "EXPLAIN SELECT * FROM gold.stock_daily",
        "VALUES (1, 'a'), (2, 'b')",
        "TABLE gold.alerts",
        "FROM gold.alerts SELECT alert_id",
        # write words inside literals, quoted names, longer identifiers, comments
        "SELECT * FROM ops.data_quality WHERE detail = 'insert into t; delete from t'",
        'SELECT "drop table t; update t set x = 1" AS note',
        "SELECT `insert`, `merge` FROM t",
        "SELECT updated_at, deleted_rows, inserted, merged_by FROM t",
        "SELECT ';' AS semicolon",
        "-- DELETE FROM t\nSELECT 1",
        "/* INSERT INTO t VALUES (1) */ SELECT 1",
        "SELECT 1 -- ; DROP TABLE t",
        "SELECT 1 /* ; DELETE FROM t */",
        "/* leading */ WITH x AS (SELECT 1) SELECT * FROM x",
    ],
)
def test_reads_are_read_only(query: str) -> None:
    assert read_only(query) is True


@pytest.mark.parametrize(
    "query",
    [
        "INSERT INTO gold.alerts SELECT * FROM t",
        "insert overwrite gold.alerts select * from t",
        "MERGE INTO gold.stock_daily t USING s ON t.ticker = s.ticker WHEN MATCHED THEN UPDATE SET *",
        "DELETE FROM silver.transactions WHERE trade_date = '2026-10-06'",
        "UPDATE gold.stock_daily SET vwap = 0",
        "DROP TABLE gold.stock_daily",
        "CREATE TABLE t AS SELECT 1",
        "ALTER TABLE gold.stock_daily ADD COLUMNS (x INT)",
        "OPTIMIZE gold.stock_daily",
        "VACUUM gold.stock_daily",
        "TRUNCATE TABLE gold.alerts",
        "SET spark.sql.shuffle.partitions = 1",
        "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
        "with x as (select 1) merge into t using x on true when not matched then insert *",
        "FROM s INSERT INTO t SELECT *",
        "SELECT 1; SELECT 2",
        "SELECT 1; DROP TABLE t",
        "SHOW TABLES; DROP TABLE t",
        "DESCRIBE t; DELETE FROM t",
        "SELECT 1 -- a comment\n; DROP TABLE t",
        "/* SELECT */ DROP TABLE t",
        "-- SELECT\nDELETE FROM t",
        "",
        "   ",
        "-- only a comment",
    ],
)
def test_writes_and_several_statements_are_not_read_only(query: str) -> None:
    assert read_only(query) is False


@pytest.mark.parametrize(
    "query",
    [
        "SELECT '--'; DROP TABLE gold.stock_daily",
        "SELECT '/*' AS a; DELETE FROM t WHERE x = '*/'",
    ],
)
def test_comment_markers_inside_literals_do_not_hide_a_second_statement(query: str) -> None:
    assert read_only(query) is False


@pytest.mark.parametrize(
    "query",
    [
        # Spark's raw literals: a backslash escapes nothing, so r'\' ends at its second quote. Read
        # as an ordinary literal, it would hide what follows it from the guard.
        "WITH x AS (SELECT r'\\') INSERT INTO gold.alerts SELECT 1 --'",
        "SELECT R'\\' AS a; DROP TABLE t; --'",
        'WITH x AS (SELECT r"\\") INSERT INTO t SELECT 1 --"',
        # Statements outside the read-only list, whatever their case or spacing.
        "CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
        "create table t using delta location '/tmp/x' as select 1",
        "REPLACE TABLE t AS SELECT 1",
        "CACHE TABLE t AS SELECT 1",
        "REFRESH TABLE gold.alerts",
        "ADD JAR /tmp/evil.jar",
        "RESTORE TABLE gold.stock_daily TO VERSION AS OF 1",
        "CONVERT TO DELTA parquet.`/tmp/x`",
        "MSCK REPAIR TABLE t",
        "ANALYZE TABLE gold.alerts COMPUTE STATISTICS",
        "EXECUTE IMMEDIATE 'DROP TABLE gold.alerts'",
        "BEGIN DROP TABLE t; END",
        "DECLARE VARIABLE v INT",
        "SET VAR v = 1",
        "RESET",
        "USE gold",
        "\n\tdrop\ttable t",
        # Writes behind a read-only first word.
        "WITH x AS (SELECT 1)\nINSERT\tINTO t SELECT * FROM x",
        "WITH x AS (SELECT 1) INSERT OVERWRITE TABLE t SELECT * FROM x",
        "FROM s INSERT OVERWRITE TABLE t SELECT *",
        "(WITH x AS (SELECT 1) INSERT INTO t SELECT 1)",
    ],
)
def test_what_spark_would_run_as_a_write_is_refused(query: str) -> None:
    assert read_only(query) is False


@pytest.mark.parametrize(
    "query",
    [
        "SELECT r'C:\\data\\' AS path, 'it''s' AS s FROM gold.alerts",
        "SELECT replace(ticker, '.', '_'), created_at FROM gold.alerts",
        "SELECT * FROM gold.stock_daily VERSION AS OF 3",
        "SHOW CREATE TABLE gold.alerts",
        "EXPLAIN EXTENDED SELECT * FROM gold.alerts",
        "WITH drop_days AS (SELECT 1 AS n) SELECT n FROM drop_days",
    ],
)
def test_reads_that_mention_writes_in_names_functions_or_raw_literals_run(query: str) -> None:
    assert read_only(query) is True
