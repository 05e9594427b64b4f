"""The `stockstream` command: talks to people (progress, clear errors), delegates to the package."""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import logging
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table as RichTable

from stockstream.config import Settings, get_settings
from stockstream.errors import StockstreamError

if TYPE_CHECKING:
    from stockstream.orchestration.airflow_api import DagRun

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
    except ValidationError as exc:
        raise StockstreamError(
            f"invalid setting: {describe_invalid(exc)}",
            "fix the STOCKSTREAM_* variable or .env entry named above",
        ) from None
    except UnicodeDecodeError:
        raise StockstreamError(
            f"{Path('.env').resolve()} is not UTF-8 text", "save it as UTF-8 (see .env.example)"
        ) from None


def describe_invalid(exc: ValidationError) -> str:
    """One line per pydantic error: which STOCKSTREAM_ variable, the value given, what is wrong."""
    parts = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(item) for item in error["loc"])
        name = f"STOCKSTREAM_{field.upper()}" if field else "the settings"
        value = error.get("input")
        shown = field and "password" not in field and isinstance(value, str | int | float)
        given = f"={value!r}" if shown else ""
        parts.append(f"{name}{given}: {error['msg']}")
    return "; ".join(parts)


def parse_date(value: str, option: str = "") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        named = f"{option} " if option else ""
        raise typer.BadParameter(f"{named}{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-20") from None


MAX_RANGE_DAYS = 3660
"""The longest range (about ten years) a command takes: more is almost certainly a typo (1026 for
2026), and would run for days."""


def parse_range(start: str, end: str, *, up_to_today: bool = False) -> tuple[date, date]:
    """--start and --end as dates: in order, at most MAX_RANGE_DAYS apart and, when `up_to_today`,
    not after today (market data exists up to today: UTC+14 is the first to reach a day)."""
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if last < first:
        raise typer.BadParameter(f"--end {last} is before --start {first}: swap them")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise typer.BadParameter(
            f"{first}..{last} spans {days:,} days, more than the {MAX_RANGE_DAYS:,} (ten years) a command "
            "takes: check the years, or split the range"
        )
    today = (datetime.now(UTC) + timedelta(hours=14)).date()
    if up_to_today and last > today:
        raise typer.BadParameter(
            f"--end {last} is in the future: market data exists up to today ({today}); "
            f"end the range on {today} or before"
        )
    return first, last


def writable_folder(folder: Path, option: str) -> None:
    """Create the folder (and its parents), or say why it cannot hold the output."""
    if folder.exists() and not folder.is_dir():
        raise StockstreamError(f"{option} {folder} is a file, not a folder", "give a folder to write into")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StockstreamError(
            f"cannot create {option} {folder}: {exc.strerror}", "give a folder you can write to"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StockstreamError(f"{option} {folder} is not writable", "give a folder you can write to")


def finite(value: float | None) -> float | None:
    """Typer callback: refuse nan and infinity (a range check lets nan through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number: give a number such as 10")
    return value


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
    stream: Annotated[
        bool,
        typer.Option(
            "--stream/--no-stream",
            help="Also start the streaming job: Kafka -> bronze/silver/gold continuously, "
            "restarted when it crashes (log: stream.log in the log directory).",
        ),
    ] = True,
    dashboard: Annotated[
        bool,
        typer.Option(
            "--dashboard/--no-dashboard",
            help="Also start the live dashboard (its URL: `stockstream status`; log: dashboard.log).",
        ),
    ] = True,
    sql: Annotated[
        bool,
        typer.Option(
            "--sql/--no-sql",
            help="Also start the SQL engine: a warm Spark that `stockstream sql` sends its statements "
            "to (log: sql-engine.log).",
        ),
    ] = True,
) -> None:
    """Start the local services (Kafka broker, streaming job, SQL engine, dashboard, Airflow) and wait
    until they are healthy."""
    from stockstream.services.manager import Platform

    platform = Platform(settings())
    with console.status(
        "starting services (Kafka, then the streaming job, the SQL engine, the dashboard, then Airflow; "
        "Spark and Airflow each take a minute on 2 cores)..."
    ):
        platform.up(airflow=airflow, stream=stream, dashboard=dashboard, sql=sql)
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
    """Show each service: running, healthy, address, admin login, stream lag and last batch, log file."""
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
    from stockstream.services.listeners import exposed, instance_listeners

    host = platform.settings.host
    wide = exposed(instance_listeners(platform.settings.run_dir), host)
    if wide:
        where = ", ".join(f"{item.name} (pid {item.pid}) on {item.ip}:{item.port}" for item in wide)
        err.print(
            f"[yellow]warning:[/] listening beyond {host} (STOCKSTREAM_HOST): {where}; "
            "other machines may reach it",
            highlight=False,
        )


class SourceChoice(StrEnum):
    auto = "auto"
    yfinance = "yfinance"
    offline = "offline"


@app.command()
@friendly
def extract(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD), inclusive.")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")],
    source: Annotated[
        SourceChoice | None,
        typer.Option(help="Where bars come from (default: the source setting, auto)."),
    ] = None,
) -> None:
    """Company profiles and daily bars into reference.dim_stock and reference.daily_bars."""
    from stockstream.market.extract import choose_source
    from stockstream.market.extract import extract as run_extract

    first, last = parse_range(start, end, up_to_today=True)
    cfg = settings()
    with console.status("choosing the market data source..."):
        chosen = choose_source(cfg, source.value if source else None)
    with console.status(f"extracting {first}..{last} from {chosen.name} into the lakehouse..."):
        report = run_extract(cfg, first, last, source=chosen)
    console.print(
        f"extracted {report.stocks} stocks and {report.bars} daily bars over {report.days} trading days "
        f"from [bold]{report.source}[/] into reference.dim_stock and reference.daily_bars"
    )


@app.command()
@friendly
def replay(
    start: Annotated[str | None, typer.Option(help="First day to replay (YYYY-MM-DD).")] = None,
    end: Annotated[str | None, typer.Option(help="Last day to replay (YYYY-MM-DD), inclusive.")] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0, callback=finite, help="0 = as fast as possible, 1 = market time, N = N times faster."
        ),
    ] = 0.0,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Replay a CSV in the seed's format instead.")
    ] = None,
    csv_tz: Annotated[str, typer.Option(help="Timezone of CSV timestamps without an offset.")] = "UTC",
    sample: Annotated[
        int | None,
        typer.Option(min=1, max=1_000_000, help="Replay N generated sample transactions instead."),
    ] = None,
    day: Annotated[str, typer.Option("--date", help="Trading day of --sample (YYYY-MM-DD).")] = "2026-11-20",
) -> None:
    """Publish transactions to Kafka: simulated days (--start/--end), a seed CSV (--csv) or a sample."""
    modes = [
        name
        for name, given in (("--start/--end", start or end), ("--csv", csv_file), ("--sample", sample))
        if given
    ]
    if len(modes) != 1:
        raise typer.BadParameter(
            "give one of --start D --end D (simulated days from the lakehouse), --csv FILE, or --sample N"
            + (f"; got {' and '.join(modes)}" if modes else "")
        )
    cfg = settings()
    if csv_file is not None or sample is not None:
        from stockstream.broker.admin import ensure_topic
        from stockstream.broker.replay import publish

        if csv_file is not None:
            from stockstream.market.reference import load_universe
            from stockstream.market.seed_csv import read_seed_csv

            currencies = {s.ticker: s.currency for s in load_universe(cfg.universe_file)}
            batch = read_seed_csv(csv_file, csv_tz, currencies)
            what = f"{len(batch)} transactions of {csv_file}"
            unknown = sorted({txn.ticker for txn in batch if txn.ticker not in currencies})
            if unknown:
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                listed = ", ".join(unknown[:5]) + more
                err.print(
                    f"[yellow]warning:[/] {listed} {'is' if len(unknown) == 1 else 'are'} not in the ticker "
                    "universe: silver quarantines their rows as unknown_ticker "
                    "(STOCKSTREAM_UNIVERSE_FILE adds tickers)",
                    highlight=False,
                )
        else:
            from stockstream.market.sample import sample_transactions

            assert sample is not None
            batch = list(sample_transactions(sample, parse_date(day, "--date")))
            what = f"{sample} sample transactions of {day}"
        ensure_topic(cfg)
        with progress_bar(what, len(batch)) as advance:
            report = publish(cfg, batch, speed=speed, on_progress=advance)
        summarise(report, len(batch))
        return

    from stockstream.market.day_replay import replay_days

    if not (start and end):
        raise typer.BadParameter("give both --start and --end")
    first, last = parse_range(start, end)
    totals: dict[str, int] = {}
    with progress_bar(f"replaying {first}..{last}", None) as advance:

        def begin(planned: int) -> None:
            totals["planned"] = planned
            advance(0, planned)

        result = replay_days(
            cfg,
            first,
            last,
            speed=speed,
            on_start=begin,
            on_progress=lambda n: advance(n, totals.get("planned")),
        )
    summarise(result.report, result.planned)
    if result.replay_id:
        console.print(
            f"days {', '.join(str(d) for d in sorted(result.report.days))} recorded in ops.replay_manifest "
            f"(replay {result.replay_id}, bars from {result.source})"
        )


@contextlib.contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[..., None]]:
    """A rich progress bar; the callback takes the records sent so far (and a total once known)."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total, rate="")
        started = [time.monotonic()]

        def advance(done: int, new_total: int | None = None) -> None:
            if done == 0:  # sending starts now: the rate leaves out the set-up before it
                started[0] = time.monotonic()
            elapsed = max(time.monotonic() - started[0], 1e-6)
            progress.update(
                task, completed=done, total=new_total or total, rate=f"{done / elapsed:,.0f} rec/s"
            )

        yield advance


def summarise(report: object, planned: int) -> None:
    from stockstream.broker.replay import ReplayReport

    assert isinstance(report, ReplayReport)
    offsets = ", ".join(f"p{p}:{o}" for p, o in sorted(report.end_offsets.items()))
    console.print(
        f"replayed {report.sent:,} records to [bold]{report.topic}[/] in {report.seconds:.1f}s "
        f"({report.rate:,.0f} records/s); end offsets {offsets}"
    )
    if report.interrupted:
        console.print(
            f"[yellow]interrupted after {report.sent:,} of {planned:,} records[/]: "
            "run the same command again to finish (txn_ids are deterministic, so nothing is "
            "duplicated downstream)"
        )
        raise typer.Exit(130)


@app.command()
@friendly
def simulate(
    live: Annotated[
        bool, typer.Option("--live", help="A live market: trades stamped now, published continuously.")
    ] = False,
    rate: Annotated[
        float, typer.Option(max=10_000, help="Transactions per second, all tickers together.")
    ] = 20.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    tickers: Annotated[
        str | None,
        typer.Option(help="Comma-separated tickers of the universe, e.g. AAPL,7203.T (default: all)."),
    ] = None,
    always_open: Annotated[
        bool,
        typer.Option(
            "--always-open", help="Trade every ticker around the clock, not only while its exchange is open."
        ),
    ] = False,
    seed: Annotated[
        int | None, typer.Option(min=0, help="Seed of the random walk for a reproducible run.")
    ] = None,
) -> None:
    """A live market for the dashboard: trades stamped now, a random walk from each ticker's last
    close, published to Kafka until Ctrl-C or SIGTERM (or --duration). Only tickers whose exchange is open now
    trade, unless --always-open; when none is open it says which open next and exits 1. Live records
    are not recorded in ops.replay_manifest."""
    if not live:
        raise typer.BadParameter(
            "simulate has one mode for now, --live: `stockstream simulate --live` publishes a live market; "
            "`stockstream replay --start D --end D` publishes historical days"
        )
    if not rate > 0:
        raise typer.BadParameter(f"--rate {rate} must be more than 0 transactions per second")
    if duration is not None and not duration > 0:
        raise typer.BadParameter(
            f"--duration {duration} must be more than 0 seconds (leave it out: until Ctrl-C)"
        )
    from stockstream.broker.admin import ensure_topic
    from stockstream.market.live import LiveReport, next_opens, open_market, run_live

    cfg = settings()
    market = open_market(
        cfg, tickers.split(",") if tickers is not None else None, always_open=always_open, seed=seed
    )
    ensure_topic(cfg)
    trading = market.open_tickers(market.now())
    hours = "around the clock (--always-open)" if always_open else "while their exchanges are open"
    until = f"for {duration:g}s" if duration is not None else "until Ctrl-C"
    err.print(
        f"live market: {len(trading)} of {len(market.stocks)} tickers trading now, {hours}; "
        f"{rate:g} transactions/s to {cfg.topic} at {cfg.bootstrap_servers} {until}",
        highlight=False,
    )

    def show(report: LiveReport) -> None:
        now = market.now()
        open_tickers = market.open_tickers(now)
        if open_tickers:
            state = "  ".join(f"{t} {market.price(t):g}" for t in open_tickers[:3])
        else:
            exchange, _, at = next_opens(market.stocks, now)[0]
            state = f"no exchange open now; next: {exchange} at {at:%a %H:%M} UTC"
        err.print(
            f"{report.seconds:6.0f}s  published {report.sent:,} ({report.rate:.1f}/s)  "
            f"{len(open_tickers)} trading  {state}",
            highlight=False,
        )

    report = run_live(cfg, market, rate=rate, duration=duration, on_progress=show)
    span = (
        f"; event times {report.first_event:%H:%M:%S}..{report.last_event:%H:%M:%S} UTC"
        if report.first_event and report.last_event
        else ""
    )
    stopped = "stopped (Ctrl-C or SIGTERM): " if report.interrupted else ""
    console.print(
        f"{stopped}published {report.sent:,} live transactions of {len(report.per_ticker)} tickers to "
        f"[bold]{report.topic}[/] in {report.seconds:.1f}s ({report.rate:.1f}/s){span}; live records are "
        "not a replayed day, so ops.replay_manifest does not list them",
        highlight=False,
    )


@app.command()
@friendly
def stream(
    available_now: Annotated[
        bool, typer.Option("--available-now", help="Process what is in Kafka now, then exit.")
    ] = False,
) -> None:
    """Run the streaming job Kafka -> bronze -> silver/quarantine -> gold (until Ctrl-C or
    SIGTERM, or once with --available-now). `stockstream up` runs it as a supervised service."""
    from stockstream.pipeline.stream import run

    cfg = settings()
    mode = "everything available" if available_now else f"every {cfg.trigger_interval} until stopped"
    console.print(f"streaming {cfg.topic} from {cfg.bootstrap_servers} into the lakehouse: {mode}")
    summary = run(cfg, available_now=available_now)
    console.print(f"processed {summary.input_rows} Kafka records in {summary.batches} micro-batches")


@app.command()
@friendly
def finalize(
    days: Annotated[
        list[str] | None, typer.Option("--date", help="Trading day to finalise (YYYY-MM-DD); repeatable.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="First day of a range to finalise.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of the range (inclusive).")] = None,
) -> None:
    """Recompute days' gold in batch from silver, reconcile, record the checks in
    ops.data_quality; exits 1 naming the first failed check."""
    from stockstream.market.sources import business_days
    from stockstream.pipeline.finalize import finalize_days
    from stockstream.spark import spark_session

    wanted = [parse_date(day, "--date") for day in days or []]
    if (start is None) != (end is None):
        raise typer.BadParameter("give both --start and --end, or neither")
    if start is not None and end is not None:
        first, last = parse_range(start, end)
        if not business_days(first, last):
            raise typer.BadParameter(f"{first}..{last} has no weekday, so no trading day to finalise")
        wanted += business_days(first, last)
    if not wanted:
        raise typer.BadParameter("name the days: --date D (repeatable) or --start D --end D")
    cfg = settings()
    with console.status("finalising...") as spinner:
        spark = spark_session(cfg, "stockstream-finalize")
        reports = finalize_days(
            spark, cfg, sorted(set(wanted)), on_day=lambda day: spinner.update(f"finalising {day}...")
        )
    colour = {"pass": "green", "fail": "red", "skipped": "yellow"}
    for report in reports:
        grid = RichTable(title=f"checks of {report.trade_date}")
        for column in ("check", "status", "detail"):
            grid.add_column(column)
        for check in report.checks:
            grid.add_row(check.name, f"[{colour[check.status]}]{check.status}", check.detail)
        console.print(grid)
        console.print("gold rows: " + ", ".join(f"{name} {n}" for name, n in report.gold_rows.items()))
        console.print("took: " + ", ".join(f"{phase} {s:.1f}s" for phase, s in report.seconds.items()))
    failed = [(report.trade_date, report.first_failure) for report in reports if report.first_failure]
    if failed:
        day, failure = failed[0]
        assert failure is not None
        raise StockstreamError(
            f"{day} failed check {failure.name}: {failure.detail}",
            "if the stream is still processing the day, wait (`stockstream wait --date D`) and "
            "finalise again; the checks are in ops.data_quality",
        )


@app.command()
@friendly
def wait(
    days: Annotated[
        list[str] | None, typer.Option("--date", help="Wait for this replayed day (repeatable).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, callback=finite, help="Give up after this many seconds.")
    ] = 600,
) -> None:
    """Wait until the stream has processed the replayed days (their ops.replay_manifest offsets),
    or, without --date, everything in the topic now."""
    from stockstream.broker.admin import end_offsets, require_broker
    from stockstream.completion import manifest_end_offsets, wait_processed

    cfg = settings()
    if days:
        targets = manifest_end_offsets(cfg, [parse_date(day, "--date") for day in days])
        if not targets:
            raise StockstreamError(
                f"no replay of {', '.join(days)} in ops.replay_manifest", "replay the days first"
            )
    else:
        require_broker(cfg)
        targets = end_offsets(cfg)
    total = sum(targets.values())
    with progress_bar("waiting for the stream (records left)", None) as advance:
        missing = wait_processed(
            cfg, targets, timeout=timeout, on_poll=lambda left: advance(total - left, total)
        )
    if missing:
        raise StockstreamError(
            f"the stream still has {sum(missing.values())} records to process after {timeout:.0f}s",
            "check it runs (`stockstream status`, its log var/logs/stream.log) or wait longer (--timeout)",
        )
    console.print("the stream has processed everything asked for")


@app.command()
@friendly
def maintain(
    retain_hours: Annotated[
        int,
        typer.Option(
            min=168, max=876_000, help="VACUUM keeps files younger than this (Delta's floor: 168 hours)."
        ),
    ] = 168,
) -> None:
    """OPTIMIZE (compact small files) and VACUUM every lakehouse table."""
    from stockstream.pipeline.maintain import maintain as run_maintenance
    from stockstream.spark import spark_session

    cfg = settings()
    spark = spark_session(cfg, "stockstream-maintain")
    grid = RichTable(title="maintenance")
    for column in ("table", "files before", "files after", "compacted"):
        grid.add_column(column)
    with console.status("optimizing and vacuuming..."):
        done = run_maintenance(spark, cfg, retain_hours)
    for item in done:
        grid.add_row(item.table, str(item.files_before), str(item.files_after), str(item.files_compacted))
    console.print(grid)


@app.command()
@friendly
def render(
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD), inclusive.")],
    end: Annotated[str, typer.Option(help="Last day (YYYY-MM-DD), inclusive.")],
    out: Annotated[
        Path | None, typer.Option(help="Folder to write to (default: reports/START_END in the data root).")
    ] = None,
) -> None:
    """The six analyses of the gold tables for a range of days: six PNGs and report.html."""
    from stockstream.analyses import render as run_render

    first, last = parse_range(start, end)
    cfg = settings()
    folder = out or cfg.reports_dir / f"{first}_{last}"
    writable_folder(folder, "--out")
    with console.status(f"rendering the six analyses of {first}..{last}..."):
        report = run_render(cfg, first, last, folder)
    for message in report.messages:
        console.print(f"[yellow]note:[/] {message}", highlight=False)
    if report.empty:
        raise StockstreamError(
            f"the gold tables have no rows for {first}..{last}: {report.html} says so, no chart was drawn",
            f"process the days first: stockstream backfill --start {first} --end {last}",
        )
    console.print(f"wrote {len(report.files) - 1} charts and the report: {report.html}")


class Reprocess(StrEnum):
    none = "none"
    failed = "failed"
    completed = "completed"


@app.command()
@friendly
def backfill(
    start: Annotated[str, typer.Option(help="First trading day (YYYY-MM-DD), inclusive.")],
    end: Annotated[str, typer.Option(help="Last trading day (YYYY-MM-DD), inclusive.")],
    source: Annotated[
        SourceChoice | None, typer.Option(help="Market data source of the runs (default: the setting).")
    ] = None,
    reprocess: Annotated[
        Reprocess,
        typer.Option(
            help="Days that already have a run: none = skip them, failed = run the failed ones "
            "again, completed = run every day again (idempotent: the tables stay the same)."
        ),
    ] = Reprocess.failed,
    timeout: Annotated[
        float, typer.Option(min=1, callback=finite, help="Stop following after this many seconds.")
    ] = 7200,
) -> None:
    """Backfill trading days through Airflow's market_day DAG (one run per day), follow each day to
    the end, and summarise: run state, duration, reconciliation checks, gold rows."""
    from stockstream.orchestration.airflow_api import AirflowApi
    from stockstream.orchestration.backfill import MARKET_DAY, create, follow, plan

    first, last = parse_range(start, end)
    cfg = settings()
    api = AirflowApi(cfg)
    conf = {"source": source.value} if source else {}
    with console.status(f"asking Airflow which days of {first}..{last} to run..."):
        body, days = plan(
            api,
            first,
            last,
            conf=conf,
            reprocess=reprocess.value,
            max_active_runs=cfg.backfill_max_active_runs,
        )
    if not days:
        existing = {
            run.logical_date.date(): run
            for run in api.dag_runs(MARKET_DAY, first, last)
            if run.logical_date is not None
        }
        if not existing:
            raise StockstreamError(
                f"{first}..{last} has no trading day that has ended", "backfill weekdays before today"
            )
        console.print(
            f"every day of {first}..{last} already has a run (--reprocess {reprocess.value}): nothing "
            "to do; --reprocess completed runs them again"
        )
        show_backfill(cfg, first, last, existing)
        return
    created = create(cfg, api, body)
    if api.wait_for_dag(MARKET_DAY).get("is_paused"):
        # Airflow starts no run of a paused DAG, backfills included.
        api.set_paused(MARKET_DAY, False)
        console.print(
            f"{MARKET_DAY} was paused: unpaused it so the backfill can run (it now also runs each new "
            "day on schedule; pause it in the UI to stop that)"
        )
    console.print(
        f"backfill {created.get('id')} of {MARKET_DAY}: {len(days)} trading days "
        f"({days[0]}..{days[-1]}), {cfg.backfill_max_active_runs} at a time; "
        f"follow it in the UI at {cfg.airflow_url}/dags/{MARKET_DAY}"
    )
    shown: dict[date, str] = {}
    with Progress(
        TextColumn("{task.description}"),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        rows = {day: progress.add_task(str(day), total=1, state="queued") for day in days}

        def update(states: dict[date, str]) -> None:
            for day, state in states.items():
                done = state in ("success", "failed")
                progress.update(rows[day], state=state, completed=1 if done else 0)
                if shown.get(day) != state:
                    shown[day] = state
                    progress.console.print(f"{day}: {state}", highlight=False)

        runs = follow(api, days, timeout=timeout, on_update=update)
    show_backfill(cfg, first, last, runs)


def show_backfill(cfg: Settings, first: date, last: date, runs: dict[date, DagRun]) -> None:
    """The per-day summary of a backfill; exits 1 when a day failed."""
    from stockstream.orchestration.backfill import MARKET_DAY, summarise

    results = summarise(cfg, runs)
    grid = RichTable(title=f"backfill of {first}..{last}")
    for column in ("day", "run", "duration", "checks", "gold stocks"):
        grid.add_column(column)
    for result in results:
        colour = "green" if result.state == "success" else "red"
        seconds = f"{result.seconds:.0f}s" if result.seconds is not None else "-"
        grid.add_row(str(result.day), f"[{colour}]{result.state}", seconds, result.checks, str(result.stocks))
    console.print(grid)
    failed = [str(result.day) for result in results if result.state != "success"]
    if failed:
        raise StockstreamError(
            f"{len(failed)} of {len(results)} days failed: {', '.join(failed)}",
            f"open {cfg.airflow_url}/dags/{MARKET_DAY} for the failed tasks' logs, fix the cause, then "
            "run the same command again (it re-runs the failed days)",
        )
    console.print(f"reports: {cfg.reports_dir}")


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
@friendly
def sql(
    queries: Annotated[
        list[str],
        typer.Argument(
            help='Spark SQL statements, e.g. "SELECT count(*) FROM bronze.transactions"; several run in '
            "order in one Spark session."
        ),
    ],
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows are printed.")] = 1000,
    write: Annotated[
        bool, typer.Option("--write", help="Allow statements that change tables (INSERT, MERGE, DROP...).")
    ] = False,
) -> None:
    """Run Spark SQL over every lakehouse table and print the result (read-only unless --write)."""
    from pyspark.errors import PySparkException

    from stockstream.sql import read_only
    from stockstream.sqlengine import lost_engine, sql_session

    if any(not query.strip() for query in queries):
        raise typer.BadParameter('a query is empty: give a statement, e.g. "SHOW TABLES IN gold"')
    refused = [query for query in queries if not read_only(query)]
    if refused and not write:
        shown = " ".join(refused[0].split())
        shown = f"{shown[:60]}..." if len(shown) > 60 else shown
        raise StockstreamError(
            f'`stockstream sql` is read-only unless --write, and "{shown}" may change a table '
            "(or holds several statements)",
            "pass --write to run it (the stream and finalize own the lakehouse's tables); "
            "give each statement as its own argument",
        )
    with sql_session(settings()) as spark:
        for query in queries:
            try:
                frame = spark.sql(query)
                columns = frame.columns
                rows = [row.asDict(recursive=True) for row in frame.limit(limit).collect()] if columns else []
            except PySparkException as exc:
                if lost_engine(exc, settings()):
                    raise StockstreamError(
                        "the SQL engine stopped answering while it ran the statement",
                        f"see {settings().log_dir / 'sql-engine.log'} and `stockstream status`; run it again "
                        "(without a running engine, `stockstream sql` starts a Spark of its own)",
                    ) from None
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


@app.command()
@friendly
def chaos(
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Run only this scenario (repeatable).")
    ] = None,
    reduced: Annotated[bool, typer.Option(help="The small form the test suite runs.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of every random choice (kill moments, steps).")] = 7,
    report: Annotated[
        Path | None, typer.Option(help="Write the figures into this file's generated section.")
    ] = None,
    keep: Annotated[
        Path | None, typer.Option(help="Run in this folder and keep it (default: a scratch folder).")
    ] = None,
) -> None:
    """Fault injection on the real broker, stream and lakehouse: each scenario's trials, records,
    lost, duplicated and recovery time (RELIABILITY.md)."""
    from stockstream.chaos.run import SCENARIOS
    from stockstream.chaos.run import chaos as run_chaos

    names = scenario or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise typer.BadParameter(f"unknown scenario {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
    command = "stockstream chaos " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "stockstream chaos"
    console.print(f"chaos: {len(names)} scenario(s), {'reduced' if reduced else 'full'}, seed {seed}")
    figures = run_chaos(
        names,
        reduced=reduced,
        seed=seed,
        report=report,
        command=command,
        keep=keep,
        on_figure=lambda f: console.print(("ok " if f.ok else "FAILED ") + f.row(), highlight=False),
    )
    if report is not None:
        console.print(f"figures written to {report}")
    failed = [figure.scenario for figure in figures if not figure.ok]
    if failed:
        raise StockstreamError(
            f"{len(failed)} scenario(s) lost, duplicated or failed a check: {', '.join(failed)}",
            "read the notes of the table above and the logs under --keep",
        )


BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    # name: (script under benchmarks/, full arguments, smoke arguments)
    "replay": (
        "replay_throughput.py",
        ["--trades", "2000", "--runs", "3"],
        ["--trades", "20", "--runs", "1"],
    ),
    "stream": (
        "stream_throughput.py",
        ["--days", "20", "--runs", "3"],
        ["--days", "1", "--trades", "40", "--runs", "1"],
    ),
    "day": ("day_cost.py", ["--days", "3"], ["--days", "1", "--trades", "20"]),
    # Sizes of a day (tickers, trades) through day_cost.py, and a 20-day backfill through Airflow;
    # the smoke run one small day of a 60-ticker universe, no backfill (the suite's time).
    "scaling": (
        "scaling.py",
        [],
        [
            "--tickers",
            "60",
            "--ticker-trades",
            "20",
            "--trades",
            "",
            "--days-each",
            "1",
            "--backfill-days",
            "0",
        ],
    ),
    "year": (
        "year_queries.py",
        ["--days", "252", "--runs", "3"],
        ["--days", "5", "--trades", "20", "--runs", "1"],
    ),
    # One day in the smoke run (the suite's time): the state-store verdict needs two or more.
    "memory": ("memory.py", ["--days", "5"], ["--days", "1", "--trades", "20"]),
    # The steady load; the smoke run a tiny one (lower rates: --rate 2000, 5000 by hand).
    "freshness": (
        "freshness.py",
        ["--rate", "20000", "--seconds", "60"],
        ["--rate", "200", "--seconds", "10", "--warmup", "5"],
    ),
}


@app.command()
@friendly
def bench(
    names: Annotated[
        list[str] | None, typer.Argument(help=f"Benchmarks to run: {', '.join(BENCHMARKS)} (default: all).")
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option("--smoke", help="A tiny load of each, to check the harness (the test suite runs it)."),
    ] = False,
) -> None:
    """Benchmarks beside the engines' own tools: replay vs Kafka's ProducerPerformance, the stream vs
    Spark's Kafka -> parse -> noop ceiling, one trading day end to end, render and query over a year,
    memory per service and the state store, freshness at a steady load (BENCHMARKS.md)."""
    from stockstream.config import PROJECT_ROOT

    chosen = names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        raise typer.BadParameter(
            f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHMARKS)}"
        )
    folder = PROJECT_ROOT / "benchmarks"
    if not folder.is_dir():
        raise StockstreamError(f"no benchmarks folder at {folder}", "run it from a clone of the repository")
    failed = []
    for name in chosen:
        script, full, small = BENCHMARKS[name]
        argv = [sys.executable, str(folder / script), *(small if smoke else full)]
        console.print(
            f"[bold]{name}[/bold]: {' '.join(['benchmarks/' + script, *argv[2:]])}", highlight=False
        )
        if subprocess.run(argv, cwd=PROJECT_ROOT, check=False).returncode != 0:  # noqa: S603
            failed.append(name)
    if failed:
        raise StockstreamError(f"benchmark(s) failed: {', '.join(failed)}", "their output is above")


if __name__ == "__main__":
    app()
