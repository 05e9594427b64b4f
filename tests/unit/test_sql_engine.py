"""The SQL engine's settings, readiness and port checks, without a JVM (the engine itself runs in
tests/integration/test_sql_engine.py)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.services.sql_engine import SqlEngineService
from stockstream.sqlengine import (
    CONNECT_PLUGIN,
    answers,
    connect_conf,
    engine_url,
    present_tables,
    ready_path,
)
from stockstream.tables import MINUTE_BARS, STOCK_DAILY, table
from tests.conftest import isolated_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path / "root")


@pytest.fixture
def listening(settings: Settings) -> Iterator[socket.socket]:
    """A plain TCP listener on the engine's port: it accepts connections and never speaks gRPC."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((settings.host, settings.sql_port))
        sock.listen()
        yield sock


def pretend_running(settings: Settings, ready_pid: int) -> None:
    """This test process as the engine of the pid file; the ready file names `ready_pid`."""
    settings.run_dir.mkdir(parents=True)
    created = psutil.Process().create_time()
    (settings.run_dir / "sql-engine.pid").write_text(f"{os.getpid()} {created}\n")
    ready_path(settings).write_text(json.dumps({"pid": ready_pid, "url": engine_url(settings)}))


def test_the_engine_serves_spark_connect_on_the_instance_host_and_port(tmp_path: Path) -> None:
    settings = isolated_settings(tmp_path, spark_conf={"spark.connect.grpc.maxInboundMessageSize": "1"})
    conf = connect_conf(settings)
    assert conf["spark.plugins"] == CONNECT_PLUGIN
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert conf["spark.connect.grpc.binding.port"] == str(settings.sql_port)
    assert conf["spark.connect.grpc.maxInboundMessageSize"] == "1"
    assert engine_url(settings) == f"sc://127.0.0.1:{settings.sql_port}"
    assert Settings().sql_port == 15002  # Spark Connect's own default port


def test_not_ready_without_a_ready_file(settings: Settings, listening: socket.socket) -> None:
    settings.run_dir.mkdir(parents=True)
    created = psutil.Process().create_time()
    (settings.run_dir / "sql-engine.pid").write_text(f"{os.getpid()} {created}\n")
    assert SqlEngineService(settings).ready_url() is None


def test_ready_when_the_running_engine_wrote_its_ready_file_and_holds_the_port(
    settings: Settings, listening: socket.socket
) -> None:
    pretend_running(settings, os.getpid())
    assert SqlEngineService(settings).ready_url() == f"sc://127.0.0.1:{settings.sql_port}"


def test_a_ready_file_of_an_earlier_engine_is_not_ready(settings: Settings, listening: socket.socket) -> None:
    pretend_running(settings, os.getpid() + 1)
    assert SqlEngineService(settings).ready_url() is None


def test_not_ready_when_nothing_listens(settings: Settings) -> None:
    pretend_running(settings, os.getpid())
    assert SqlEngineService(settings).ready_url() is None


def test_a_port_that_does_not_speak_grpc_does_not_answer(
    settings: Settings, listening: socket.socket
) -> None:
    assert not answers(settings, timeout=1.0)


def test_a_taken_port_names_the_port_and_the_setting(settings: Settings, listening: socket.socket) -> None:
    with pytest.raises(StockstreamError) as info:
        SqlEngineService(settings).start()
    assert f"127.0.0.1:{settings.sql_port} is taken" in info.value.message
    assert info.value.hint is not None and "STOCKSTREAM_SQL_PORT" in info.value.hint
    assert not SqlEngineService(settings).is_running()


def test_a_table_counts_as_present_from_its_first_commit(settings: Settings) -> None:
    """A writer creates _delta_log a moment before the table's first version: Spark refuses to
    register the table in between (it stopped the engine once, in the e2e suite); Table.exists
    says no until then."""
    for name in (STOCK_DAILY, MINUTE_BARS):
        (table(name).path(settings) / "_delta_log").mkdir(parents=True)
    (table(STOCK_DAILY).path(settings) / "_delta_log" / "00000000000000000000.json").write_text("{}\n")
    assert present_tables(settings) == [STOCK_DAILY]
