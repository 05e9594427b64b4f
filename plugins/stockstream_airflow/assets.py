"""The lakehouse tables and reports as Airflow assets, so lineage shows in the UI: each task
declares the tables it writes as outlets."""

from __future__ import annotations

from airflow.sdk import Asset


def table_asset(name: str) -> Asset:
    """The Delta table `schema.name` as an asset (x- scheme: a project-specific URI)."""
    return Asset(name=name, uri=f"x-stockstream://lakehouse/{name}", group="lakehouse")


DIM_STOCK = table_asset("reference.dim_stock")
DAILY_BARS = table_asset("reference.daily_bars")
REPLAY_MANIFEST = table_asset("ops.replay_manifest")
DATA_QUALITY = table_asset("ops.data_quality")
GOLD_DAILY = [
    table_asset(name)
    for name in (
        "gold.stock_daily",
        "gold.industry_daily",
        "gold.country_daily",
        "gold.tech_daily",
        "gold.action_daily",
        "gold.minute_bars",
    )
]
REPORTS = Asset(name="reports", uri="x-stockstream://reports/market_day", group="reports")
