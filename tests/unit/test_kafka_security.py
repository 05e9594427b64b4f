"""The Kafka security settings: validated together, turned into kafka-python arguments and Spark
Kafka source options, handed to every client, never printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from pydantic import SecretStr, ValidationError

from stockstream.broker import admin, replay
from stockstream.broker.security import kafka_client_config, spark_kafka_options
from stockstream.config import Settings, settings_env
from stockstream.pipeline.stream import kafka_source

pytestmark = pytest.mark.unit

PASSWORD = 'pa"ss\\word-for-tests'  # pragma: allowlist secret


def secured(tmp_path: Path, **overrides: Any) -> Settings:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read by these tests\n")
    values: dict[str, Any] = {
        "data_root": tmp_path,
        "kafka_bootstrap": "kafka-1.example:9094,kafka-2.example:9094",
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "stockstream",
        "kafka_sasl_password": PASSWORD,
        "kafka_ssl_cafile": ca,
    }
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


def test_plaintext_adds_nothing(tmp_path: Path) -> None:
    plain = Settings(_env_file=None, data_root=tmp_path)  # type: ignore[call-arg]
    assert plain.kafka_security_protocol == "PLAINTEXT"
    assert kafka_client_config(plain) == {}
    assert spark_kafka_options(plain) == {}


def test_sasl_ssl_for_kafka_python(tmp_path: Path) -> None:
    assert kafka_client_config(secured(tmp_path)) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "stockstream",
        "sasl_plain_password": PASSWORD,
        "ssl_cafile": str(tmp_path / "ca.pem"),
    }


def test_sasl_ssl_for_spark_with_the_jaas_values_quoted(tmp_path: Path) -> None:
    assert spark_kafka_options(secured(tmp_path)) == {
        "kafka.security.protocol": "SASL_SSL",
        "kafka.sasl.mechanism": "SCRAM-SHA-512",
        "kafka.sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="stockstream" password="pa\\"ss\\\\word-for-tests";',
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": str(tmp_path / "ca.pem"),
    }


def test_plain_mechanism_tls_only_and_the_system_cas(tmp_path: Path) -> None:
    plain = secured(tmp_path, kafka_sasl_mechanism="PLAIN", kafka_ssl_cafile=None)
    assert spark_kafka_options(plain)["kafka.sasl.jaas.config"].startswith(
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
    )
    assert "ssl_cafile" not in kafka_client_config(plain)
    tls = secured(tmp_path, kafka_security_protocol="SSL", kafka_sasl_username=None, kafka_sasl_password=None)
    assert kafka_client_config(tls) == {"security_protocol": "SSL", "ssl_cafile": str(tmp_path / "ca.pem")}
    assert spark_kafka_options(tls) == {
        "kafka.security.protocol": "SSL",
        "kafka.ssl.truststore.type": "PEM",
        "kafka.ssl.truststore.location": str(tmp_path / "ca.pem"),
    }


def test_every_argument_is_one_kafka_python_knows() -> None:
    keys = set(kafka_client_config(secured_fixture_free()))
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        assert keys <= set(client.DEFAULT_CONFIG), client.__name__


def secured_fixture_free() -> Settings:
    """SASL_SSL with every setting but a CA file (which would have to exist)."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        kafka_bootstrap="kafka:9094",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"kafka_bootstrap": None}, "needs kafka_bootstrap"),
        ({"kafka_sasl_password": None}, "needs kafka_sasl_username and kafka_sasl_password"),
        ({"kafka_sasl_username": ""}, "needs kafka_sasl_username and kafka_sasl_password"),
        ({"kafka_ssl_cafile": Path("/nonexistent/ca.pem")}, "is not a file"),
        ({"kafka_security_protocol": "SASL_SCRAM"}, "PLAINTEXT"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "SCRAM-SHA-512"),
    ],
)
def test_incomplete_or_unknown_security_settings_are_refused(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        secured(tmp_path, **overrides)
    assert message in str(info.value)
    assert PASSWORD not in str(info.value), "errors do not print the inputs"


def test_the_password_is_never_printed_but_reaches_child_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = secured(tmp_path)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    env = settings_env(settings)
    assert env["STOCKSTREAM_KAFKA_SASL_PASSWORD"] == PASSWORD
    assert env["STOCKSTREAM_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = Settings(_env_file=None)  # type: ignore[call-arg]
    assert child == settings
    assert isinstance(child.kafka_sasl_password, SecretStr)


class Recorder:
    """Stands in for a kafka-python client class: keeps the keyword arguments it was built with."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Recorder:
        self.calls.append(kwargs)
        return self

    def list_topics(self) -> list[str]:
        return []

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0}

    def close(self) -> None:
        pass


def test_the_producer_the_consumer_and_the_admin_client_get_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = secured(tmp_path)
    expected = kafka_client_config(settings)
    producer, consumer, admin_client = Recorder(), Recorder(), Recorder()
    monkeypatch.setattr(replay, "KafkaProducer", producer)
    monkeypatch.setattr(admin, "KafkaConsumer", consumer)
    monkeypatch.setattr(admin, "KafkaAdminClient", admin_client)
    monkeypatch.setattr(admin, "port_in_use", lambda host, port: True)
    replay.producer(settings)
    admin.require_broker(settings)
    assert admin.partition_count(settings, settings.topic) == 1
    for recorder in (producer, consumer, admin_client):
        assert len(recorder.calls) == 1
        assert recorder.calls[0]["bootstrap_servers"] == settings.bootstrap_servers
        assert {key: recorder.calls[0][key] for key in expected} == expected
    assert producer.calls[0]["acks"] == "all" and producer.calls[0]["enable_idempotence"] is True


class FakeReader:
    """spark.readStream as far as kafka_source uses it."""

    def __init__(self) -> None:
        self.given: dict[str, str] = {}

    def format(self, name: str) -> FakeReader:
        self.given["format"] = name
        return self

    def option(self, key: str, value: str) -> FakeReader:
        self.given[key] = value
        return self

    def options(self, **options: str) -> FakeReader:
        self.given.update(options)
        return self

    def load(self) -> dict[str, str]:
        return self.given


def test_the_streams_kafka_source_gets_the_options(tmp_path: Path) -> None:
    settings = secured(tmp_path)
    reader = FakeReader()
    spark = type("FakeSpark", (), {"readStream": reader})()
    loaded: dict[str, str] = kafka_source(spark, settings)  # type: ignore[arg-type, assignment]
    assert {key: loaded[key] for key in spark_kafka_options(settings)} == spark_kafka_options(settings)
    assert loaded["kafka.bootstrap.servers"] == "kafka-1.example:9094,kafka-2.example:9094"
