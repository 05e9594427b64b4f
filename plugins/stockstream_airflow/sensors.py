"""The sensor that waits for the stream: the day's replay manifest against silver's committed
offsets (ops.stream_progress), read without a JVM, in reschedule mode (no worker slot held)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout

from stockstream_airflow.operators import settings, trading_day

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context


class StreamCaughtUpSensor(BaseSensorOperator):
    """Succeeds once the stream has processed every record the run's day was replayed with;
    fails at once when the stream service is not running, and with the records still missing
    when the timeout passes."""

    ui_color = "#e8f4fa"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("mode", "reschedule")
        if "timeout" not in kwargs or "poke_interval" not in kwargs:
            configured = settings()
            kwargs.setdefault("timeout", configured.wait_timeout)
            kwargs.setdefault("poke_interval", configured.wait_poke_interval)
        super().__init__(**kwargs)
        self._state = "not checked yet"

    def poke(self, context: Context) -> bool:
        from stockstream.errors import StockstreamError
        from stockstream.orchestration.steps import stream_caught_up

        try:
            completion = stream_caught_up(settings(), trading_day(context))
        except StockstreamError as exc:
            raise AirflowFailException(str(exc)) from None
        self._state = completion.describe()
        self.log.info("%s", self._state)
        return completion.complete

    def execute(self, context: Context) -> Any:
        try:
            return super().execute(context)
        except AirflowSensorTimeout:
            raise AirflowSensorTimeout(
                f"the stream did not process the day within {self.timeout:.0f}s ({self._state}). "
                "Is it running and keeping up? `stockstream status` shows its lag, its log is "
                "var/logs/stream.log; clear this task to wait again"
            ) from None
