"""The walking skeleton through Airflow: replay a sample -> wait for the stream service -> count bronze.

Wiring only: every step is a function of stockstream.skeleton. Trigger it from the UI (the
`count` and `day` params can be changed there).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="stockstream_skeleton",
    description="Replay a deterministic sample into Kafka, wait for the stream to process it, count bronze",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["stockstream", "skeleton"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=20), "retry_exponential_backoff": True},
    params={
        "count": Param(1000, type="integer", minimum=1, description="Transactions to replay"),
        "day": Param("2026-11-20", type="string", format="date", description="Trading day of the sample"),
    },
)
def stockstream_skeleton() -> None:
    @task
    def replay_sample(params: dict[str, object] | None = None) -> dict[str, object]:
        from datetime import date

        from stockstream.config import get_settings
        from stockstream.skeleton import replay_sample

        assert params is not None
        report = replay_sample(
            get_settings(), int(str(params["count"])), date.fromisoformat(str(params["day"]))
        )
        # XCom is JSON: partitions travel as strings.
        return {"sent": report.sent, "end_offsets": {str(p): o for p, o in report.end_offsets.items()}}

    @task
    def wait_for_stream(replayed: dict[str, object]) -> None:
        from stockstream.config import get_settings
        from stockstream.skeleton import wait_for_stream

        offsets = replayed["end_offsets"]
        assert isinstance(offsets, dict)
        wait_for_stream(get_settings(), {int(p): int(o) for p, o in offsets.items()})

    @task
    def count_bronze() -> int:
        from stockstream.config import get_settings
        from stockstream.skeleton import bronze_count

        return bronze_count(get_settings())

    wait_for_stream(replay_sample()) >> count_bronze()


stockstream_skeleton()
