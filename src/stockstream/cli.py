"""The `stockstream` command: talks to people (progress, clear errors), delegates to the package."""

from __future__ import annotations

import csv
import functools
import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table as RichTable

from stockstream.config import Settings, get_settings
from stockstream.errors import StockstreamError

app = typer.Typer(
    help="stockstream: real-time stock market analysis on Kafka, Spark, Delta Lake and Airflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into a message and exit code 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except StockstreamError as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err.print(f"[yellow]what to do:[/] {exc.hint}", highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise StockstreamError(
            f"invalid setting: {exc}", "fix the STOCKSTREAM_* variable or .env entry named above"
        ) from None


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-20") from None


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False, show_time=False)],
    )
    logging.getLogger("stockstream").setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("kafka", "py4j"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


@app.command()
@friendly
def up(
    airflow: Annotated[bool, typer.Option("--airflow/--no-airflow", help="Also start Airflow.")] = True,
) -> None:
    """Start the local services (Kafka broker, Airflow) and wait until they are healthy."""
    from stockstream.services.manager import Platform

    platform = Platform(settings())
    with console.status("starting services (Airflow takes a minute on 2 cores)..."):
        platform.up(airflow=airflow)
    show_status(platform)


@app.command()
@friendly
def down() -> None:
    """Stop every local service of this data root (nothing running is fine)."""
    from stockstream.services.manager import Platform

    stopped = Platform(settings()).down()
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
@friendly
def status() -> None:
    """Show each service: running, healthy, address, admin login, log file."""
    from stockstream.services.manager import Platform

    platform = Platform(settings())
    show_status(platform)
    if not all(line.healthy for line in platform.status()):
        raise typer.Exit(3)


def show_status(platform: object) -> None:
    from stockstream.services.manager import Platform

    assert isinstance(platform, Platform)
    grid = RichTable(title=f"stockstream services ({platform.settings.data_root})")
    for column in ("service", "state", "where", "log"):
        grid.add_column(column)
    for line in platform.status():
        state = (
            "[green]healthy" if line.healthy else ("[yellow]unhealthy" if line.running else "[dim]stopped")
        )
        grid.add_row(line.name, state, line.detail, line.log)
    console.print(grid)


@app.command()
@friendly
def replay(
    sample: Annotated[int, typer.Option(min=1, help="Publish this many generated sample transactions.")],
    day: Annotated[
        str, typer.Option("--date", help="Trading day of the sample (YYYY-MM-DD).")
    ] = "2026-11-20",
) -> None:
    """Publish transactions to Kafka (the walking skeleton's deterministic sample)."""
    from stockstream.broker.admin import ensure_topic
    from stockstream.broker.replay import publish
    from stockstream.market.sample import sample_transactions

    cfg = settings()
    trading_day = parse_date(day)
    ensure_topic(cfg)
    with console.status(f"replaying {sample} transactions of {trading_day}...") as spinner:
        report = publish(
            cfg,
            sample_transactions(sample, trading_day),
            on_progress=lambda n: spinner.update(f"replayed {n}/{sample} transactions of {trading_day}"),
        )
    offsets = ", ".join(f"p{p}:{o}" for p, o in sorted(report.end_offsets.items()))
    console.print(f"replayed {report.sent} records to [bold]{report.topic}[/] (end offsets {offsets})")


@app.command()
@friendly
def stream(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Process what is in Kafka now, then exit.")
    ] = False,
) -> None:
    """Run the streaming job Kafka -> bronze (until Ctrl-C, or once with --available-now)."""
    from stockstream.pipeline.stream import run

    cfg = settings()
    mode = "everything available" if available_now else f"every {cfg.trigger_interval} until Ctrl-C"
    console.print(f"streaming {cfg.topic} from {cfg.bootstrap_servers} into the lakehouse: {mode}")
    summary = run(cfg, available_now=available_now)
    console.print(f"processed {summary.input_rows} records in {summary.batches} micro-batches")


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
@friendly
def sql(
    query: Annotated[
        str, typer.Argument(help='A Spark SQL statement, e.g. "SELECT count(*) FROM bronze.transactions".')
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows are printed.")] = 1000,
) -> None:
    """Run Spark SQL over every lakehouse table and print the result."""
    from pyspark.errors import PySparkException

    from stockstream.spark import spark_session

    spark = spark_session(settings(), "stockstream-sql")
    try:
        frame = spark.sql(query)
        columns = frame.columns
        rows = [row.asDict(recursive=True) for row in frame.limit(limit).collect()] if columns else []
    except PySparkException as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise StockstreamError(
            f"Spark SQL rejected the query: {first_line}",
            '`stockstream sql "SHOW TABLES IN bronze"` lists the tables; names are schema.table',
        ) from None
    print_rows(columns, rows, fmt)


def print_rows(columns: list[str], rows: list[dict[str, object]], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    elif fmt is OutputFormat.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    else:
        grid = RichTable()
        for column in columns:
            grid.add_column(column)
        for row in rows:
            grid.add_row(*("NULL" if row[c] is None else str(row[c]) for c in columns))
        console.print(grid)
        console.print(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")


if __name__ == "__main__":
    app()
