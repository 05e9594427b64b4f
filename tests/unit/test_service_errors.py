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


@pytest.mark.parametrize(
    ("port", "service", "setting", "untouched"),
    [
        ("kafka_port", LocalBroker, "STOCKSTREAM_KAFKA_PORT", "kafka/data"),
        ("kafka_controller_port", LocalBroker, "STOCKSTREAM_KAFKA_PORT", "kafka/data"),
        ("airflow_port", AirflowService, "STOCKSTREAM_AIRFLOW_PORT", "airflow/airflow.db"),
    ],
)
def test_a_taken_port_names_the_port_and_the_setting(
    tmp_path: Path, port: str, service: type[LocalBroker | AirflowService], setting: str, untouched: str
) -> None:
    settings = isolated(tmp_path)
    taken = getattr(settings, port)
    with socket.socket() as squatter:
        squatter.bind((settings.host, taken))
        squatter.listen()
        with pytest.raises(StockstreamError) as info:
            service(settings).start()
    assert f":{taken} is taken" in info.value.message
    assert info.value.hint is not None and setting in info.value.hint
    assert not (tmp_path / untouched).exists(), "nothing was created before the check"


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage tool reads an id starting with '-' as an option and fails: such ids are drawn again."""
    import uuid

    from stockstream.broker import local

    dashed, plain = uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(range(1, 17)))
    draws = iter([dashed, plain])
    monkeypatch.setattr(local.uuid, "uuid4", lambda: next(draws))
    assert local.base64.urlsafe_b64encode(dashed.bytes).decode().startswith("-")
    assert local.new_cluster_id() == "AQIDBAUGBwgJCgsMDQ4PEA"
