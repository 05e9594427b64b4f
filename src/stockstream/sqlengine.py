"""The SQL engine: a warm Spark driver that serves Spark Connect, so that `stockstream sql` answers
in a second or two instead of starting a JVM with Delta for every statement (BENCHMARKS.md, "Render
and query over a year": 18 s cold, 1.5 s warm).

`python -m stockstream.sqlengine` is what `stockstream up` starts (services/sql_engine.py). It
builds the project's SparkSession with Spark Connect's plugin listening on settings.host and
settings.sql_port, registers every lakehouse table by name, runs each table's first query once
(the cold Spark jobs), then writes its ready file. Every client session shares the engine's
catalog; tables that appear later (the first extract, the first stream batch) are registered
within REGISTER_EVERY seconds. Each query reads the newest version of a Delta table.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stockstream.config import Settings, get_settings
from stockstream.tables import register, registry

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"
REGISTER_EVERY = 5.0
"""Seconds between two looks for lakehouse tables created since the last one."""
ANSWER_TIMEOUT = 5.0
"""Seconds `stockstream sql` waits for the engine's port to speak gRPC before it starts a Spark."""
LOST_WAIT = 5.0
"""Seconds a statement's failure waits for the engine to go away before it is called Spark's."""
RETRIES = 4
"""Retries of a statement whose connection to the engine failed (about 3 s of back-off in all)."""


def engine_url(settings: Settings) -> str:
    """The Spark Connect address of the instance's engine."""
    return f"sc://{settings.host}:{settings.sql_port}"


def ready_path(settings: Settings) -> Path:
    """Written by the engine once it serves warm queries: its pid and URL (JSON)."""
    return settings.run_dir / "sql-engine.ready"


def connect_conf(settings: Settings) -> dict[str, str]:
    """The Spark settings that make a driver serve Spark Connect on the instance's host and port;
    settings.spark_conf still wins."""
    return {
        "spark.plugins": CONNECT_PLUGIN,
        "spark.connect.grpc.binding.address": settings.host,
        "spark.connect.grpc.binding.port": str(settings.sql_port),
        **settings.spark_conf,
    }


def present_tables(settings: Settings) -> list[str]:
    """The lakehouse tables that exist on disk (from their first commit)."""
    return [name for name, entry in registry().items() if entry.exists(settings)]


def register_present(spark: SparkSession, settings: Settings) -> bool:
    """Register the tables on disk; False (logged) when Spark refused one, e.g. a table created
    at that moment: the engine keeps serving and tries again REGISTER_EVERY seconds later."""
    from pyspark.errors import PySparkException

    try:
        register(spark, settings)
    except PySparkException as exc:
        first_line = str(exc).strip().splitlines()[0]
        log.warning("could not register every table yet, trying again in %gs: %s", REGISTER_EVERY, first_line)
        return False
    return True


WARM_UP = (
    "SELECT id % 7 AS k, count(*) AS n, avg(id) AS mean, max(id) AS top FROM range(100000) "
    "GROUP BY k ORDER BY mean DESC, k"
)
"""A grouped, ordered aggregate, the shape of a typical query: its planning and generated code
are compiled once here."""


def warm_up(spark: SparkSession, names: list[str]) -> None:
    """One count of every table and one aggregate: the first, cold jobs (Delta's log replay, the
    parquet reader, code generation) run here rather than in a user's first query."""
    from pyspark.errors import PySparkException

    spark.sql(WARM_UP).collect()
    for name in names:
        started = time.monotonic()
        try:
            spark.sql(f"SELECT count(*) FROM {name}").collect()
        except PySparkException as exc:  # not registered yet: a warm-up is not worth failing over
            log.warning("could not warm %s: %s", name, str(exc).strip().splitlines()[0])
            continue
        log.info("warmed %s in %.1fs", name, time.monotonic() - started)


def serve(settings: Settings, stop: threading.Event) -> None:
    """Run the engine until `stop` is set."""
    from stockstream.spark import spark_session

    started = time.monotonic()
    engine = settings.model_copy(update={"spark_conf": connect_conf(settings)})
    spark = spark_session(engine, "stockstream-sql-engine", long_running=True)
    names = present_tables(settings)
    warm_up(spark, names)
    ready = ready_path(settings)
    ready.write_text(json.dumps({"pid": os.getpid(), "url": engine_url(settings)}) + "\n")
    log.info(
        "SQL engine ready on %s in %.1fs: %d tables",
        engine_url(settings),
        time.monotonic() - started,
        len(names),
    )
    try:
        while not stop.wait(REGISTER_EVERY):
            now = present_tables(settings)
            if now != names and register_present(spark, settings):
                log.info("registered %s", ", ".join(sorted(set(now) - set(names))) or "no new table")
                names = now
    finally:
        ready.unlink(missing_ok=True)
        spark.stop()


def answers(settings: Settings, timeout: float = ANSWER_TIMEOUT) -> bool:
    """True when a gRPC connection to the engine's port opens within `timeout` seconds: a process
    that holds the port but does not speak gRPC, or hangs, is not waited on."""
    import grpc

    with grpc.insecure_channel(f"{settings.host}:{settings.sql_port}") as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            return False
    return True


@contextmanager
def sql_session(settings: Settings) -> Iterator[SparkSession]:
    """The session `stockstream sql` runs its statements in: a session of the running engine when
    this data root has one that answers (released on the way out), else a SparkSession of this
    process (a JVM start, cold jobs)."""
    from stockstream.services.sql_engine import SqlEngineService

    url = SqlEngineService(settings).ready_url()
    if url is not None and answers(settings):
        from pyspark.sql import SparkSession
        from pyspark.sql.connect.client.retries import DefaultPolicy

        # The lost connection is reported by lost_engine's caller; pyspark also warns of it.
        warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
        remote = SparkSession.builder.remote(url).getOrCreate()
        # Spark Connect retries a lost connection for 10 minutes by default; an engine stopped
        # mid-statement fails the command within seconds instead.
        remote.client.set_retry_policies([DefaultPolicy(max_retries=RETRIES, max_backoff=2000)])
        log.info("running on the SQL engine at %s", url)
        try:
            yield remote
        finally:
            remote.stop()  # the engine drops the session's state now, not after its idle timeout
        return
    if url is not None:
        log.warning("the SQL engine at %s did not answer: running the statements in a Spark here", url)
    from stockstream.spark import spark_session

    yield spark_session(settings, "stockstream-sql")


def lost_engine(exc: BaseException, settings: Settings) -> bool:
    """True when a statement run on the engine failed because the engine went away under it: the
    connection was lost (it crashed), or it stopped, which cancels its jobs (it removes its ready
    file first); False for a statement Spark refused, and for a session of this process."""
    import grpc
    from pyspark.errors.exceptions.connect import AnalysisException, SparkConnectGrpcException

    from stockstream.services.process import wait_until
    from stockstream.services.sql_engine import SqlEngineService

    if not isinstance(exc, SparkConnectGrpcException) or isinstance(exc, AnalysisException):
        return False  # not the engine's, or a statement Spark refused (parse, names, types)
    lost = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED}
    if exc.getGrpcStatusCode() in lost:
        return True
    # The stop signals the engine's JVM and its Python at once: the cancelled job's error can
    # arrive just before the engine removes its ready file.
    return wait_until(lambda: SqlEngineService(settings).ready_url() is None, timeout=LOST_WAIT)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    serve(get_settings(), stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
