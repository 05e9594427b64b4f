"""Which trading day a DAG run is for: the run's data interval, or an explicit `day` param."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from stockstream.errors import StockstreamError
from stockstream.market.sources import business_days


def run_day(
    param: object = None,
    interval_start: datetime | None = None,
    interval_end: datetime | None = None,
    run_after: datetime | None = None,
) -> date:
    """The day of a run: the `day` param when given (a weekday, or an error); else the day its
    data interval starts on (scheduled and backfill runs: one day each, weekends included); else,
    for a manual run without a logical date, the last weekday before the day it runs."""
    if param not in (None, ""):
        try:
            day = date.fromisoformat(str(param))
        except ValueError:
            raise StockstreamError(
                f"the run's day param {param!r} is not a date", "trigger with day as YYYY-MM-DD"
            ) from None
        if not is_trading_day(day):
            raise StockstreamError(
                f"{day} is a {day:%A}: there is no trading on weekends", "choose a weekday (Monday to Friday)"
            )
        return day
    # A plain date: Airflow's pendulum dates are a subclass that Spark's type checks refuse.
    if interval_start is not None and interval_end is not None and interval_end > interval_start:
        return date(interval_start.year, interval_start.month, interval_start.day)
    if run_after is not None:
        return previous_weekday(date(run_after.year, run_after.month, run_after.day))
    raise StockstreamError(
        "the run has neither a day param nor a data interval", "trigger it with a day (YYYY-MM-DD)"
    )


def is_trading_day(day: date) -> bool:
    """Monday to Friday (exchange holidays are not modelled)."""
    return day.weekday() < 5


def previous_weekday(day: date) -> date:
    """The last Monday-to-Friday strictly before `day`."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def trailing_window(day: date, days: int) -> tuple[date, date]:
    """The first and last of the `days` trading days that end with `day`."""
    window = business_days(day - timedelta(days=2 * days + 7), day)[-days:]
    return window[0], window[-1]
