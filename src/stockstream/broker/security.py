"""How the Kafka clients authenticate and encrypt: the settings' security protocol as kafka-python
keyword arguments, as librdkafka properties (the replay's confluent-kafka producer) and as
options of Spark's Kafka source. PLAINTEXT (the local broker) adds nothing."""

from __future__ import annotations

from typing import Any

from stockstream.config import Settings

_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def _credentials(settings: Settings) -> tuple[str, str]:
    # The settings' validator guarantees both for a SASL protocol.
    assert settings.kafka_sasl_username is not None and settings.kafka_sasl_password is not None
    return settings.kafka_sasl_username, settings.kafka_sasl_password.get_secret_value()


def kafka_client_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of kafka-python's producer, consumer and admin client."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    config: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        username, password = _credentials(settings)
        config |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    if protocol.endswith("SSL") and settings.kafka_ssl_cafile is not None:
        config["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return config


def librdkafka_config(settings: Settings) -> dict[str, str]:
    """The same settings as librdkafka properties (confluent-kafka's producer). Without a CA file
    the wheel's statically linked OpenSSL probes the system's CA paths, as kafka-python uses the
    system's CAs; the broker's host name is verified by both."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    config = {"security.protocol": protocol.lower()}
    if protocol.startswith("SASL_"):
        username, password = _credentials(settings)
        config |= {
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": username,
            "sasl.password": password,
        }
    if protocol.endswith("SSL") and settings.kafka_ssl_cafile is not None:
        config["ssl.ca.location"] = str(settings.kafka_ssl_cafile)
    return config


def _jaas_quoted(value: str) -> str:
    """A JAAS option value in double quotes (Kafka reads it with a StreamTokenizer: \\ escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def spark_kafka_options(settings: Settings) -> dict[str, str]:
    """Options of Spark's Kafka source: Kafka client properties prefixed with `kafka.`."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, str] = {"kafka.security.protocol": protocol}
    if protocol.startswith("SASL_"):
        username, password = _credentials(settings)
        mechanism = settings.kafka_sasl_mechanism
        options["kafka.sasl.mechanism"] = mechanism
        options["kafka.sasl.jaas.config"] = (
            f"{_LOGIN_MODULES[mechanism]} required "
            f"username={_jaas_quoted(username)} password={_jaas_quoted(password)};"
        )
    if protocol.endswith("SSL") and settings.kafka_ssl_cafile is not None:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = str(settings.kafka_ssl_cafile)
    return options
