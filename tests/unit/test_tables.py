from __future__ import annotations

from pathlib import Path

import pytest

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.tables import BRONZE_TRANSACTIONS, parse_ddl, registry, table

pytestmark = pytest.mark.unit

DESIGN_TABLES = {
    "reference.dim_stock",
    "reference.daily_bars",
    "bronze.transactions",
    "silver.transactions",
    "silver.quarantine",
    "gold.stock_daily",
    "gold.industry_daily",
    "gold.country_daily",
    "gold.tech_daily",
    "gold.action_daily",
    "gold.minute_bars",
    "gold.alerts",
    "gold.forecasts",
    "ops.replay_manifest",
    "ops.stream_progress",
    "ops.data_quality",
}


def test_registry_defines_every_table_of_the_design() -> None:
    assert set(registry()) == DESIGN_TABLES


def test_paths_and_checkpoints_live_under_the_data_root(tmp_path: Path) -> None:
    s = Settings(data_root=tmp_path)
    bronze = table(BRONZE_TRANSACTIONS)
    assert bronze.path(s) == tmp_path / "lakehouse" / "bronze" / "transactions"
    assert bronze.checkpoint(s) == tmp_path / "checkpoints" / "bronze" / "transactions" / "main"
    checkpoints = {t.checkpoint(s) for t in registry().values()}
    assert len(checkpoints) == len(registry()), "every table has its own checkpoint folder"
    assert bronze.checkpoint(s, "a") != bronze.checkpoint(s, "b")


def test_unknown_table_names_the_known_ones() -> None:
    with pytest.raises(StockstreamError) as info:
        table("bronze.nope")
    assert "bronze.transactions" in str(info.value)


def test_ddl_file_must_be_named_after_its_table(tmp_path: Path) -> None:
    ddl = tmp_path / "bronze.other.sql"
    ddl.write_text("CREATE TABLE IF NOT EXISTS bronze.transactions (a INT) USING delta")
    with pytest.raises(StockstreamError, match=r"name the file bronze\.transactions\.sql"):
        parse_ddl(ddl)


def test_ddl_may_not_pin_a_location(tmp_path: Path) -> None:
    ddl = tmp_path / "bronze.x.sql"
    ddl.write_text("CREATE TABLE IF NOT EXISTS bronze.x (a INT) USING delta LOCATION '/tmp/x'")
    with pytest.raises(StockstreamError, match="LOCATION"):
        parse_ddl(ddl)
