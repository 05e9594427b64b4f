"""lakehouse_maintenance: every night, compact and vacuum the Delta tables, then remove old logs
and the Spark scratch folders of killed processes.

Wiring only: the tasks are operators of plugins/stockstream_airflow. VACUUM keeps 7 days of files
(Delta's floor), so a running stream and time travel within a week are safe.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag
from stockstream_airflow.operators import CleanOldFilesOperator, MaintainLakehouseOperator


@dag(
    dag_id="lakehouse_maintenance",
    description="OPTIMIZE and VACUUM every table; remove old logs and scratch files",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["stockstream", "maintenance"],
    default_args={
        "owner": "stockstream",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
    doc_md=__doc__,
)
def lakehouse_maintenance() -> None:
    MaintainLakehouseOperator(task_id="optimize_vacuum") >> CleanOldFilesOperator(task_id="clean_old_files")


lakehouse_maintenance()
