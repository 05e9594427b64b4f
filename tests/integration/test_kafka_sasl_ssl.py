"""stockstream's clients against a broker that only speaks SASL_SSL (SCRAM-SHA-512 over TLS), set up
as docs/security.md says: the listener configuration, SCRAM users created when the storage is
formatted and later with kafka-configs (ConfigCommand), the STOCKSTREAM_KAFKA_* client settings.
The replay producer, the admin client and Spark's Kafka source all get through; a wrong password
and a PLAINTEXT client do not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from pyspark.sql import SparkSession

from stockstream.broker.admin import broker_ready, end_offsets, ensure_topic, require_broker
from stockstream.broker.local import java_executable, new_cluster_id
from stockstream.broker.replay import publish
from stockstream.broker.security import kafka_client_config, spark_kafka_options
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.jars import module_jars
from stockstream.market.sample import sample_transactions
from stockstream.services.process import ManagedProcess, port_in_use, wait_until
from tests.conftest import free_port

pytestmark = pytest.mark.integration

# Made up for this test, which writes them to a temporary folder only.
BROKER_PASSWORD = "broker-test-only"  # pragma: allowlist secret
CLIENT_PASSWORD = "client-test-only"  # pragma: allowlist secret
LATE_PASSWORD = "late-user-test-only"  # pragma: allowlist secret


def write_certificates(folder: Path) -> tuple[Path, Path]:
    """A CA, and a broker certificate it signed for 127.0.0.1 and localhost: the CA's PEM (the
    clients' truststore) and the broker's PEM keystore (its key followed by its certificate)."""
    now = dt.datetime.now(dt.UTC)

    def certificate(
        subject: str,
        key: ec.EllipticCurvePrivateKey,
        issuer: x509.Name | None,
        signer: ec.EllipticCurvePrivateKey,
    ) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
        )
        if issuer is None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("stockstream test CA", ca_key, None, ca_key)
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = certificate("127.0.0.1", broker_key, ca.subject, ca_key)
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    keystore = folder / "broker-keystore.pem"
    keystore.write_bytes(
        broker_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        + broker.public_bytes(serialization.Encoding.PEM)
    )
    keystore.chmod(0o600)
    return ca_pem, keystore


def server_properties(port: int, controller_port: int, data: Path, ca: Path, keystore: Path) -> str:
    """The broker side of docs/security.md, for one combined KRaft node on the loopback."""
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{port}",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=SASL_SSL",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            f'{scram} required username="broker" password="{BROKER_PASSWORD}";',
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={keystore}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={ca}",
            "ssl.client.auth=none",
            f"log.dirs={data}",
            "num.partitions=3",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ]
    )


@dataclass
class SecureBroker:
    settings: Settings  # a client of it with the right password
    ca: Path
    home: Path
    classpath: str


def java(classpath: str, main: str, *args: str, heap: str = "256m") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [java_executable(), f"-Xmx{heap}", "-cp", classpath, main, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[SecureBroker]:
    home = tmp_path_factory.mktemp("sasl-ssl")
    port, controller_port = free_port(), free_port()
    ca, keystore = write_certificates(home)
    config = home / "server.properties"
    config.write_text(server_properties(port, controller_port, home / "data", ca, keystore))
    classpath = ":".join(str(jar) for jar in module_jars(settings, "broker"))
    formatted = java(
        classpath,
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        new_cluster_id(),
        "--config",
        str(config),
        "--add-scram",
        f"SCRAM-SHA-512=[name=broker,password={BROKER_PASSWORD}]",
        "--add-scram",
        f"SCRAM-SHA-512=[name=stockstream,password={CLIENT_PASSWORD}]",
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    process = ManagedProcess(
        name="kafka-sasl-ssl",
        argv=[java_executable(), "-Xmx384m", "-cp", classpath, "kafka.Kafka", str(config)],
        run_dir=home / "run",
        log_path=home / "kafka.log",
    )
    process.start()
    client = Settings(
        data_root=home / "client",
        kafka_bootstrap=f"127.0.0.1:{port}",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="stockstream",
        kafka_sasl_password=CLIENT_PASSWORD,  # type: ignore[arg-type]
        kafka_ssl_cafile=ca,
        topic="secured",
        topic_partitions=3,
    )
    try:
        process.wait_healthy(
            lambda: (
                port_in_use("127.0.0.1", port)
                and broker_ready(client.bootstrap_servers, kafka_client_config(client))
            ),
            timeout=120,
        )
        yield SecureBroker(client, ca, home, classpath)
    finally:
        process.stop(timeout=30)


def test_the_replay_and_the_admin_client_get_through_with_the_password(secure_broker: SecureBroker) -> None:
    settings = secure_broker.settings
    require_broker(settings)
    ensure_topic(settings)
    report = publish(settings, sample_transactions(40, date(2026, 11, 20)))
    assert report.sent == 40
    assert sum(end_offsets(settings).values()) == 40
    assert set(end_offsets(settings)) == {0, 1, 2}


def test_spark_reads_the_topic_through_sasl_ssl(secure_broker: SecureBroker, spark: SparkSession) -> None:
    settings = secure_broker.settings
    ensure_topic(settings)
    before = sum(end_offsets(settings).values())
    publish(settings, sample_transactions(10, date(2026, 11, 21)))
    frame = (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.bootstrap_servers)
        .option("subscribe", settings.topic)
        .option("startingOffsets", "earliest")
        .options(**spark_kafka_options(settings))
        .load()
    )
    assert frame.count() == before + 10


def test_a_wrong_password_or_plaintext_is_turned_away(secure_broker: SecureBroker) -> None:
    settings = secure_broker.settings
    wrong = settings.model_copy(update={"kafka_sasl_password": SecretStr("not-it")})
    with pytest.raises(StockstreamError) as info:
        require_broker(wrong)
    assert info.value.message == f"no Kafka broker answers at {settings.bootstrap_servers} over SASL_SSL"
    assert info.value.hint is not None and "STOCKSTREAM_KAFKA_SASL_PASSWORD" in info.value.hint
    assert not broker_ready(settings.bootstrap_servers)  # PLAINTEXT against the TLS listener


def test_a_user_added_with_kafka_configs_can_connect(secure_broker: SecureBroker) -> None:
    """kafka-configs.sh is kafka.admin.ConfigCommand: the command docs/security.md gives for a new
    user, run with an admin's client properties."""
    settings = secure_broker.settings
    admin = secure_broker.home / "admin.properties"
    admin.write_text(
        "\n".join(
            [
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="broker" password="{BROKER_PASSWORD}";',
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={secure_broker.ca}",
                "",
            ]
        )
    )
    late = settings.model_copy(
        update={"kafka_sasl_username": "late", "kafka_sasl_password": SecretStr(LATE_PASSWORD)}
    )
    assert not broker_ready(late.bootstrap_servers, kafka_client_config(late)), "not a user yet"
    added = java(
        secure_broker.classpath,
        "kafka.admin.ConfigCommand",
        "--bootstrap-server",
        settings.bootstrap_servers,
        "--command-config",
        str(admin),
        "--alter",
        "--add-config",
        f"SCRAM-SHA-512=[iterations=8192,password={LATE_PASSWORD}]",
        "--entity-type",
        "users",
        "--entity-name",
        "late",
    )
    assert added.returncode == 0, added.stdout + added.stderr
    assert wait_until(lambda: broker_ready(late.bootstrap_servers, kafka_client_config(late)), timeout=30)
