"""market_reference: refresh the company profiles (reference.dim_stock) every Monday morning.

Wiring only: the task is an operator of plugins/stockstream_airflow. The daily bars are extracted
by market_day, day by day.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag
from stockstream_airflow import assets
from stockstream_airflow.operators import RefreshReferenceOperator


@dag(
    dag_id="market_reference",
    description="Refresh reference.dim_stock from the market data source",
    schedule=CronTriggerTimetable("0 6 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["stockstream", "reference"],
    default_args={
        "owner": "stockstream",
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
    },
    params={
        "source": Param(
            None,
            type=["null", "string"],
            enum=[None, "auto", "yfinance", "offline"],
            description="Market data source; empty: the source setting",
        ),
    },
    doc_md=__doc__,
)
def market_reference() -> None:
    RefreshReferenceOperator(task_id="refresh_dim_stock", outlets=[assets.DIM_STOCK])


market_reference()
