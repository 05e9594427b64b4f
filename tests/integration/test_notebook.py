"""notebooks/explore.ipynb, executed by a real kernel against a small real lakehouse.

The lakehouse: hand-made silver trades of twelve stocks over two days with growths chosen here,
turned into gold by the transforms the stream and the finaliser use (daily_gold). The notebook's
kernel starts a SparkSession of its own on that data root; the test reads the notebook's results
back through one cell it adds before the last, and compares them with values it knows or reads
from gold itself.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat import NotebookNode
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from stockstream.config import PROJECT_ROOT, Settings, settings_env
from stockstream.pipeline import gold
from stockstream.pipeline.daily import daily_gold
from stockstream.tables import (
    ACTION_DAILY,
    INDUSTRY_DAILY,
    SILVER_TRANSACTIONS,
    STOCK_DAILY,
    table,
)
from tests.unit.ddl_columns import ddl_columns

pytestmark = pytest.mark.integration

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore.ipynb"
READ = (STOCK_DAILY, INDUSTRY_DAILY, ACTION_DAILY)  # the gold tables the notebook reads
KERNEL = "python3"  # the venv's ipykernel ships this kernelspec in .venv/share/jupyter/kernels
D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
# ticker, sector, industry, country (as in the packaged universe)
STOCKS = [
    ("AAPL", "Technology", "Consumer Electronics", "United States"),
    ("MSFT", "Technology", "Software - Infrastructure", "United States"),
    ("GOOGL", "Communication Services", "Internet Content & Information", "United States"),
    ("AMZN", "Consumer Cyclical", "Internet Retail", "United States"),
    ("TSLA", "Consumer Cyclical", "Auto Manufacturers", "United States"),
    ("NVDA", "Technology", "Semiconductors", "United States"),
    ("JPM", "Financial Services", "Banks - Diversified", "United States"),
    ("V", "Financial Services", "Credit Services", "United States"),
    ("JNJ", "Healthcare", "Drug Manufacturers - General", "United States"),
    ("WMT", "Consumer Defensive", "Discount Stores", "United States"),
    ("BABA", "Consumer Cyclical", "Internet Retail", "China"),
    ("SAP", "Technology", "Software - Application", "Germany"),
]
# Growth % of each stock (in STOCKS' order) per day: distinct sizes, so the movers' order is known.
GROWTH = {
    D1: [-0.25, 0.1, 1.5, -2.75, 3.0, 7.5, -6.5, 0.5, -1.0, 2.0, -5.0, 4.0],
    D2: [4.0, -5.0, 2.0, -1.0, 0.5, -6.5, 3.0, 7.5, 0.1, -0.25, 1.5, -2.75],
}
# A stock's day, four trades: minutes after 14:30 UTC, price as a multiple of the open (None: the
# close), shares per unit of the stock's weight (stock i weighs i + 1), action.
TRADES = [(0, 1.0, 100, "BUY"), (60, 1.08, 50, "SELL"), (120, 0.92, 70, "BUY"), (389, None, 30, "SELL")]
WEIGHT = {stock[0]: i + 1 for i, stock in enumerate(STOCKS)}
SHARES_PER_WEIGHT = sum(shares for _, _, shares, _ in TRADES)
# The cell the test runs before the notebook's last one: the notebook's own results, as JSON.
PROBE = """import json
print(json.dumps({
    "day": str(DAY),
    "top_movers": top_movers[["ticker", "growth_pct", "volume"]].to_dict("records"),
    "industries": sorted(heat.index),
    "heat_days": [str(day) for day in heat.columns],
    "actions": actions.astype({"trade_date": str}).to_dict("records"),
}))"""


def silver_rows(day: date, first_offset: int) -> list[tuple[Any, ...]]:
    """The day's silver.transactions rows, in the table's column order."""
    rows: list[tuple[Any, ...]] = []
    session_open = datetime(day.year, day.month, day.day, 14, 30)
    ingested = datetime.now(UTC).replace(tzinfo=None)
    for i, ((ticker, sector, industry, country), growth) in enumerate(zip(STOCKS, GROWTH[day], strict=True)):
        open_price = 100.0 + 10 * i
        for n, (minute, factor, shares, action) in enumerate(TRADES):
            price = open_price * (1 + growth / 100) if factor is None else open_price * factor
            rows.append(
                (
                    f"{ticker}-{day}-{n}",
                    ticker,
                    session_open + timedelta(minutes=minute),
                    price,
                    shares * WEIGHT[ticker],
                    action,
                    "USD",
                    1,
                    day,
                    ticker,
                    sector,
                    industry,
                    country,
                    "NMS",
                    "America/New_York",
                    "notebook-test",
                    0,
                    first_offset + len(rows),
                    ingested,
                )
            )
    return rows


@pytest.fixture(scope="module")
def lake(settings: Settings, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data root of its own with the gold tables the notebook reads, made from hand-made silver
    rows of D1 and D2 by the gold transforms the stream and the finaliser use, written where the
    registry puts them (by path: the test session's catalog is left alone)."""
    lake = settings.model_copy(update={"data_root": tmp_path_factory.mktemp("notebook-lake")})
    schema = ", ".join(f"{column} {kind}" for column, kind in ddl_columns(SILVER_TRANSACTIONS))
    silver = spark.createDataFrame(silver_rows(D1, 0) + silver_rows(D2, 1000), schema)
    stocks = gold.stock_daily(silver).cache()
    frames = daily_gold(silver, stocks)
    for name in READ:
        frames[name].write.format("delta").partitionBy("trade_date").save(str(table(name).path(lake)))
    stocks.unpersist()
    return lake


def run_notebook(settings: Settings) -> NotebookNode:
    """Execute the notebook (plus PROBE before its last cell) in a fresh kernel seeing `settings`."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(len(notebook.cells) - 1, nbformat.v4.new_code_cell(PROBE, id="probe"))
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    # jupyter_client hands `env` to the kernel process as its whole environment.
    client.execute(env={**os.environ, **settings_env(settings)})
    return notebook


def cell(notebook: NotebookNode, cell_id: str) -> NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def stdout(code_cell: NotebookNode) -> str:
    return "".join(o.text for o in code_cell.outputs if o.output_type == "stream" and o.name == "stdout")


def test_committed_notebook_has_no_outputs() -> None:
    """The file in git is the notebook's source only: no outputs, no execution counts."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert notebook.metadata.kernelspec.name == KERNEL


def test_notebook_queries_gold_and_draws_the_chart(lake: Settings, spark: SparkSession) -> None:
    executed = run_notebook(lake)
    probe = json.loads(stdout(cell(executed, "probe")))

    # The last day, and its ten biggest moves in the order the test's own growths give.
    assert probe["day"] == str(D2)
    by_size = sorted(zip(STOCKS, GROWTH[D2], strict=True), key=lambda pair: -abs(pair[1]))
    assert [row["ticker"] for row in probe["top_movers"]] == [stock[0] for stock, _ in by_size[:10]]
    # ...with gold.stock_daily's values, read here without SQL.
    stored = {
        row["ticker"]: row
        for row in table(STOCK_DAILY).read(spark, lake).where(F.col("trade_date") == F.lit(D2)).collect()
    }
    growth = dict(zip((stock[0] for stock in STOCKS), GROWTH[D2], strict=True))
    for row in probe["top_movers"]:
        assert (
            row["growth_pct"] == stored[row["ticker"]]["growth_pct"] == pytest.approx(growth[row["ticker"]])
        )
        assert row["volume"] == stored[row["ticker"]]["volume"] == SHARES_PER_WEIGHT * WEIGHT[row["ticker"]]
    shown = stdout(cell(executed, "day")) + cell(executed, "top-movers").outputs[0].data["text/plain"]
    assert "2 trading days from 2026-03-02 to 2026-03-03; looking at 2026-03-03" in shown
    assert "MSFT" in shown and "JNJ" not in shown

    # Buy/sell share per day: BUY is trades 1 and 3 (170 shares per weight), SELL 2 and 4 (80).
    expected_actions = [
        {
            "trade_date": str(day),
            "action": action,
            "trades": 2 * len(STOCKS),
            "shares": per_weight * sum(WEIGHT.values()),
            "trades_pct": 50.0,
            "shares_pct": 100 * per_weight / SHARES_PER_WEIGHT,
        }
        for day in (D1, D2)
        for action, per_weight in (("BUY", 170), ("SELL", 80))
    ]
    assert probe["actions"] == expected_actions  # 68.0 and 32.0: exact in floating point

    # The heatmap: every industry of the test's stocks, both days, drawn as a PNG.
    assert probe["industries"] == sorted({stock[2] for stock in STOCKS})
    assert probe["heat_days"] == [str(D1), str(D2)]
    chart = cell(executed, "industry-chart")
    assert any("image/png" in o.get("data", {}) for o in chart.outputs)


def test_notebook_without_data_says_what_to_do(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """An empty data root stops the notebook at its first cell with the next step, before Spark."""
    empty = settings.model_copy(update={"data_root": tmp_path_factory.mktemp("notebook-empty")})
    with pytest.raises(CellExecutionError) as failure:
        run_notebook(empty)
    message = str(failure.value)
    assert f"no gold tables under {empty.lakehouse_dir} yet" in message
    assert "run `make demo`" in message
