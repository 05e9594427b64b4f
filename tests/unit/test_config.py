from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from stockstream.config import PROJECT_ROOT, Settings, settings_env

pytestmark = pytest.mark.unit


def test_defaults_keep_everything_under_var_and_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STOCKSTREAM_DATA_ROOT", "STOCKSTREAM_KAFKA_PORT", "STOCKSTREAM_TOPIC_PARTITIONS"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.data_root == PROJECT_ROOT / "var"
    assert s.bootstrap_servers == "127.0.0.1:9092"
    assert s.airflow_url == "http://127.0.0.1:8080"
    assert s.topic == "transactions" and s.topic_partitions == 6
    for folder in (s.lakehouse_dir, s.checkpoint_dir, s.kafka_dir, s.airflow_home, s.log_dir, s.run_dir):
        assert folder.parent == s.data_root


def test_environment_overrides_and_spark_conf_parsing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STOCKSTREAM_DATA_ROOT", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("STOCKSTREAM_KAFKA_PORT", "19092")
    monkeypatch.setenv("STOCKSTREAM_SPARK_CONF", "spark.executor.memory=2g, spark.sql.ansi.enabled=true")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.data_root == tmp_path / "elsewhere"
    assert s.kafka_dir == tmp_path / "elsewhere" / "kafka"
    assert s.bootstrap_servers == "127.0.0.1:19092"
    assert s.spark_conf == {"spark.executor.memory": "2g", "spark.sql.ansi.enabled": "true"}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOCKSTREAM_KAFKA_PORT", "70000"),
        ("STOCKSTREAM_SPARK_CONF", "novalue"),
        ("STOCKSTREAM_TOPIC_PARTITIONS", "0"),
    ],
)
def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_settings_env_reproduces_the_same_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    original = Settings(
        data_root=tmp_path,
        kafka_port=12345,
        spark_conf={"a.b": "1", "c.d": "x"},
        spark_ui=True,
        max_offsets_per_trigger=500,
    )
    for key, value in settings_env(original).items():
        monkeypatch.setenv(key, value)
    assert Settings(_env_file=None) == original  # type: ignore[call-arg]
