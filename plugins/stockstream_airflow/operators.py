"""Operators of the stockstream DAGs: each resolves the run's trading day and calls one function of
stockstream.orchestration.steps; the logic (and its tests) lives in the package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk.definitions.context import Context

    from stockstream.config import Settings


def settings() -> Settings:
    """The same typed settings as every other stockstream process (env: STOCKSTREAM_*)."""
    from stockstream.config import get_settings

    return get_settings()


def trading_day(context: Context) -> date:
    """The run's trading day: its `day` param, else its data interval (see run_day)."""
    from stockstream.orchestration.days import run_day

    params = context.get("params") or {}
    dag_run = context.get("dag_run")
    return run_day(
        params.get("day"),
        context.get("data_interval_start"),
        context.get("data_interval_end"),
        getattr(dag_run, "run_after", None),
    )


def call(step: Callable[[], Any]) -> Any:
    """Run a step; a StockstreamError becomes a task failure whose message says what to do."""
    from stockstream.errors import StockstreamError

    try:
        return step()
    except StockstreamError as exc:
        # Retrying cannot fix what the message asks a person to do, but it can outlast a restart
        # (of the stream, the broker): keep Airflow's retries, and log the message plainly.
        raise RuntimeError(str(exc)) from None


class TradingDayOperator(BaseOperator):
    """The run's trading day (its XCom); skips the whole run on a weekend, when nothing trades."""

    ui_color = "#f5f5f5"

    def execute(self, context: Context) -> str:
        from stockstream.orchestration.days import is_trading_day

        day = call(lambda: trading_day(context))
        if not is_trading_day(day):
            raise AirflowSkipException(f"{day} is a {day:%A}: no trading, nothing to process")
        return str(day.isoformat())


class StreamHealthOperator(BaseOperator):
    """Fails, saying how to start it, unless the streaming service runs and is healthy."""

    ui_color = "#e8f4fa"

    def execute(self, context: Context) -> str:
        from stockstream.orchestration.steps import check_stream

        return str(call(lambda: check_stream(settings())))


class ExtractDayOperator(BaseOperator):
    """Reference data and the run's daily bars into reference.dim_stock / reference.daily_bars."""

    ui_color = "#fdf3e1"

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import extract_day

        source = (context.get("params") or {}).get("source") or None
        return call(lambda: extract_day(settings(), trading_day(context), source))


class ReplayDayOperator(BaseOperator):
    """The run's simulated transactions into Kafka (skipped when already replayed completely)."""

    ui_color = "#fdf3e1"

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import replay_day

        return call(lambda: replay_day(settings(), trading_day(context)))


class FinalizeDayOperator(BaseOperator):
    """The run's day recomputed in batch, written to gold and reconciled (ops.data_quality)."""

    ui_color = "#e6f5e6"

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import finalize_day

        return call(lambda: finalize_day(settings(), trading_day(context)))


class RenderDayOperator(BaseOperator):
    """The six analyses of the run's day and of its trailing window, as PNGs and HTML reports."""

    ui_color = "#f0e8fa"

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import render_day

        return call(lambda: render_day(settings(), trading_day(context)))


class RefreshReferenceOperator(BaseOperator):
    """Company profiles of the universe into reference.dim_stock."""

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import refresh_reference

        source = (context.get("params") or {}).get("source") or None
        return call(lambda: refresh_reference(settings(), source))


class MaintainLakehouseOperator(BaseOperator):
    """OPTIMIZE and VACUUM every lakehouse table."""

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import maintain_lakehouse

        return call(lambda: maintain_lakehouse(settings()))


class CleanOldFilesOperator(BaseOperator):
    """Old task logs and Spark scratch folders of killed processes."""

    def execute(self, context: Context) -> Any:
        from stockstream.orchestration.steps import clean_old_files

        return call(lambda: clean_old_files(settings()))
