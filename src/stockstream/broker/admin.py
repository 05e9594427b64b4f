"""Topic administration and broker health over the Kafka protocol (kafka-python)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import closing
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaConfigurationError, KafkaError, TopicAlreadyExistsError

from stockstream.broker.security import kafka_client_config
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.services.process import port_in_use

log = logging.getLogger(__name__)


def _admin(
    bootstrap: str,
    timeout_ms: int = 5000,
    security: Mapping[str, Any] | None = None,
    bootstrap_timeout_ms: int = 30000,
) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="stockstream-admin",
        request_timeout_ms=timeout_ms,
        bootstrap_timeout_ms=bootstrap_timeout_ms,
        **(security or {}),
    )


def broker_ready(bootstrap: str, security: Mapping[str, Any] | None = None) -> bool:
    """True when the broker answers a metadata request (False at once when no bootstrap address
    accepts a connection: the client itself would retry for half a minute; after 10 s when one
    does but the client gets no answer, e.g. refused credentials). `security`: the clients'
    kafka_client_config, for a cluster that wants TLS or SASL."""
    addresses = [item.strip().rpartition(":") for item in bootstrap.split(",") if item.strip()]
    if not any(port.isdigit() and port_in_use(host, int(port)) for host, _, port in addresses):
        return False
    try:
        with closing(
            _admin(bootstrap, timeout_ms=2000, security=security, bootstrap_timeout_ms=10000)
        ) as admin:
            admin.list_topics()
        return True
    except KafkaConfigurationError:
        raise
    except (KafkaError, OSError):
        return False


def require_broker(settings: Settings) -> None:
    """Fail fast, with what to do, when no broker answers at the bootstrap address."""
    if not broker_ready(settings.bootstrap_servers, kafka_client_config(settings)):
        protocol = settings.kafka_security_protocol
        raise StockstreamError(
            f"no Kafka broker answers at {settings.bootstrap_servers}"
            + (f" over {protocol}" if protocol != "PLAINTEXT" else ""),
            "start it with `stockstream up` (or `make up`), "
            "or point STOCKSTREAM_KAFKA_BOOTSTRAP at your cluster"
            + (
                "; check STOCKSTREAM_KAFKA_SASL_USERNAME, STOCKSTREAM_KAFKA_SASL_PASSWORD and "
                "STOCKSTREAM_KAFKA_SSL_CAFILE (the broker's log says why it refused a client)"
                if protocol != "PLAINTEXT"
                else ""
            ),
        )


def ensure_topic(settings: Settings, topic: str | None = None, partitions: int | None = None) -> None:
    """Create the topic if it is missing; an existing topic keeps its partitions (a warning says
    so when they differ from the setting)."""
    name = topic or settings.topic
    wanted = partitions or settings.topic_partitions
    require_broker(settings)
    try:
        with closing(_admin(settings.bootstrap_servers, security=kafka_client_config(settings))) as admin:
            try:
                admin.create_topics([NewTopic(name=name, num_partitions=wanted, replication_factor=1)])
                log.info("created topic %s with %d partitions", name, wanted)
            except TopicAlreadyExistsError:
                have = partition_count(settings, name)
                if have != wanted:
                    log.warning("topic %s has %d partitions, not the configured %d", name, have, wanted)
    except KafkaError as exc:
        raise StockstreamError(
            f"cannot reach the Kafka broker at {settings.bootstrap_servers}: {exc}",
            "start it with `stockstream up` (or `make up`)",
        ) from exc


def partition_count(settings: Settings, topic: str) -> int:
    with closing(_consumer(settings)) as consumer:
        partitions = consumer.partitions_for_topic(topic)
    return len(partitions or ())


def end_offsets(settings: Settings, topic: str | None = None) -> dict[int, int]:
    """partition -> next offset to be written (the log end offset)."""
    name = topic or settings.topic
    with closing(_consumer(settings)) as consumer:
        partitions = sorted(consumer.partitions_for_topic(name) or ())
        ends = consumer.end_offsets([TopicPartition(name, p) for p in partitions])
    return {tp.partition: offset for tp, offset in ends.items()}


def _consumer(settings: Settings) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="stockstream-admin",
        enable_auto_commit=False,
        request_timeout_ms=10000,
        **kafka_client_config(settings),
    )
