"""market_day: one run per day, the run's data interval being the day (weekend runs skip).

                ┌─> check the stream ─┐
trading day ────┤                     ├─> replay the day -> wait for the stream -> finalise -> render
                └─> extract the day ──┘

Wiring only: each task is an operator of plugins/stockstream_airflow over stockstream.orchestration.
Every task is idempotent (clearing and re-running it leaves the same tables). Backfill days with
`stockstream backfill --start D --end D` or `airflow backfill create --dag-id market_day ...`; a manual
trigger takes the day as the `day` param (default: the last weekday before today).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag
from stockstream_airflow import assets
from stockstream_airflow.operators import (
    ExtractDayOperator,
    FinalizeDayOperator,
    RenderDayOperator,
    ReplayDayOperator,
    StreamHealthOperator,
    TradingDayOperator,
)
from stockstream_airflow.sensors import StreamCaughtUpSensor


@dag(
    dag_id="market_day",
    description="Extract, replay, stream, finalise and render one trading day",
    # Daily intervals from midnight UTC: a run starts once its day has ended everywhere it is
    # traded, and a Saturday or Sunday run skips (so Friday is processed on Saturday, not Monday).
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,  # history is backfilled on purpose (stockstream backfill), never by surprise
    max_active_runs=1,
    tags=["stockstream", "market"],
    default_args={
        "owner": "stockstream",
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=5),
    },
    params={
        "day": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Trading day (YYYY-MM-DD); empty: the run's data interval, or the last weekday",
        ),
        "source": Param(
            None,
            type=["null", "string"],
            enum=[None, "auto", "yfinance", "offline"],
            description="Market data source of the extract; empty: the source setting",
        ),
    },
    doc_md=__doc__,
)
def market_day() -> None:
    day = TradingDayOperator(task_id="trading_day")
    stream_ok = StreamHealthOperator(task_id="check_stream")
    extract = ExtractDayOperator(task_id="extract", outlets=[assets.DIM_STOCK, assets.DAILY_BARS])
    replay = ReplayDayOperator(task_id="replay", outlets=[assets.REPLAY_MANIFEST])
    wait = StreamCaughtUpSensor(task_id="wait_for_stream")
    finalize = FinalizeDayOperator(task_id="finalize", outlets=[*assets.GOLD_DAILY, assets.DATA_QUALITY])
    render = RenderDayOperator(task_id="render", outlets=[assets.REPORTS])
    day >> [stream_ok, extract]
    [stream_ok, extract] >> replay >> wait >> finalize >> render


market_day()
