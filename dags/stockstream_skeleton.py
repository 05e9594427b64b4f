"""The walking skeleton through Airflow: replay a sample -> stream it to bronze -> count bronze.

Wiring only: every step is a function of stockstream.skeleton. Trigger it from the UI (the
`count` and `day` params can be changed there).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task


@dag(
    dag_id="stockstream_skeleton",
    description="Replay a deterministic sample into Kafka, stream it to bronze, count bronze",
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
    def replay_sample(params: dict[str, object] | None = None) -> dict[str, int]:
        from datetime import date

        from stockstream.config import get_settings
        from stockstream.skeleton import replay_sample

        assert params is not None
        report = replay_sample(
            get_settings(), int(str(params["count"])), date.fromisoformat(str(params["day"]))
        )
        return {"sent": report.sent}

    @task
    def stream_to_bronze(replayed: dict[str, int]) -> dict[str, int]:
        from stockstream.config import get_settings
        from stockstream.skeleton import stream_available_now

        summary = stream_available_now(get_settings())
        return {"sent": replayed["sent"], "streamed": summary.input_rows}

    @task
    def count_bronze(streamed: dict[str, int]) -> int:
        from stockstream.config import get_settings
        from stockstream.skeleton import bronze_count

        return bronze_count(get_settings())

    count_bronze(stream_to_bronze(replay_sample()))


stockstream_skeleton()
