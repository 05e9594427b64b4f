"""The services refuse to start with a message that says what to do, before touching anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from stockstream.broker.local import LocalBroker, java_executable
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.services.airflow import AirflowService
from tests.conftest import isolated_settings

pytestmark = pytest.mark.unit


def isolated(tmp_path: Path) -> Settings:
    return isolated_settings(tmp_path)


def test_missing_java_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(StockstreamError) as info:
        java_executable()
    assert "Java was not found" in info.value.message
    assert info.value.hint is not None and "openjdk" in info.value.hint


@pytest.mark.parametrize("which", ["kafka_port", "kafka_controller_port"])
def test_broker_port_taken_names_the_port_and_the_setting(tmp_path: Path, which: str) -> None:
    settings = isolated(tmp_path)
    with socket.socket() as squatter:
        squatter.bind((settings.host, getattr(settings, which)))
        squatter.listen()
        with pytest.raises(StockstreamError) as info:
            LocalBroker(settings).start()
    assert f":{getattr(settings, which)} is taken" in info.value.message
    assert info.value.hint is not None and "STOCKSTREAM_KAFKA_PORT" in info.value.hint
    assert not (tmp_path / "kafka" / "data").exists(), "nothing was formatted"


def test_airflow_port_taken_names_the_port_and_the_setting(tmp_path: Path) -> None:
    settings = isolated(tmp_path)
    with socket.socket() as squatter:
        squatter.bind((settings.host, settings.airflow_port))
        squatter.listen()
        with pytest.raises(StockstreamError) as info:
            AirflowService(settings).start()
    assert f":{settings.airflow_port} is taken" in info.value.message
    assert info.value.hint is not None and "STOCKSTREAM_AIRFLOW_PORT" in info.value.hint
    assert not (tmp_path / "airflow" / "airflow.db").exists(), "nothing was created"
