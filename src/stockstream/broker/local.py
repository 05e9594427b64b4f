"""The local single-node KRaft broker, started natively from the jars Maven resolved."""

from __future__ import annotations

import base64
import logging
import shutil
import subprocess
import uuid
from pathlib import Path

from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.jars import module_jars
from stockstream.services.process import ManagedProcess, port_in_use

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0
"""Seconds from SIGTERM to SIGKILL of the broker. Its controlled shutdown (every log flushed, the
clean-shutdown marker written) took 1-2 s with 110,000 records in 6 partitions on a busy 2-core
machine; a kill would cost a log recovery on the next start."""

_LOG4J2 = """\
# Written by stockstream: the broker logs to stdout, which the launcher appends to {log}.
status = warn
# Log4j's own shutdown hook would stop logging while Kafka's shutdown hook still runs, and the log
# would end before it says the logs were flushed and closed ("Shutdown complete. (kafka.log.LogManager)").
shutdownHook = disable
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.state.name = state.change.logger
logger.state.level = warn
logger.controller.name = org.apache.kafka.controller
logger.controller.level = info
logger.request.name = kafka.request.logger
logger.request.level = warn
"""


def java_executable() -> str:
    """The java on PATH, or an error that says how to get one."""
    java = shutil.which("java")
    if java is None:
        raise StockstreamError(
            "Java was not found on PATH: the Kafka broker and Spark need a JDK (17 or newer)",
            "install one, e.g. `apt-get install openjdk-17-jdk-headless`, and open a new shell",
        )
    return java


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 random bytes, URL-safe base64 without padding, never starting
    with '-' (the storage tool would read it as an option; Kafka's own Uuid.randomUuid skips those)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalBroker:
    """A single combined broker+controller node; data and logs under the data root."""

    node_id = 1
    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.kafka_dir
        self.data_dir = self.home / "data"
        self.config_path = self.home / "server.properties"
        self.log4j_path = self.home / "log4j2.properties"
        self.log_path = settings.log_dir / "kafka.log"
        self.process = ManagedProcess(
            name=self.name,
            argv=[],  # filled in by start(): building it needs java and the jars
            run_dir=settings.run_dir,
            log_path=self.log_path,
        )

    @property
    def bootstrap(self) -> str:
        return f"{self.settings.host}:{self.settings.kafka_port}"

    def server_properties(self) -> str:
        """server.properties of a single-node KRaft cluster bound to the configured host."""
        s = self.settings
        return "\n".join(
            [
                "# Written by stockstream from its settings; edits are overwritten on `up`.",
                "process.roles=broker,controller",
                f"node.id={self.node_id}",
                f"controller.quorum.voters={self.node_id}@{s.host}:{s.kafka_controller_port}",
                f"listeners=PLAINTEXT://{s.host}:{s.kafka_port},CONTROLLER://{s.host}:{s.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://{s.host}:{s.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                f"num.partitions={s.topic_partitions}",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=6",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "num.network.threads=2",
                "num.io.threads=4",
                "log.retention.hours=168",
                "",
            ]
        )

    def _java_argv(self, main_class: str, *args: str, heap: str) -> list[str]:
        classpath = ":".join(str(jar) for jar in module_jars(self.settings, "broker"))
        return [
            java_executable(),
            f"-Xmx{heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            f"-Dkafka.logs.dir={self.settings.log_dir}",
            "-cp",
            classpath,
            main_class,
            *args,
        ]

    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.server_properties())
        self.log4j_path.write_text(_LOG4J2.format(log=self.log_path))

    def is_formatted(self) -> bool:
        return (self.data_dir / "meta.properties").exists()

    def format_storage(self) -> None:
        """Format the KRaft storage once (kafka.tools.StorageTool); a formatted log dir is kept."""
        if self.is_formatted():
            return
        cluster_id = new_cluster_id()
        argv = self._java_argv(
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.config_path),
            "--ignore-formatted",
            heap="256m",
        )
        result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise StockstreamError(
                f"formatting the broker's storage in {self.data_dir} failed:\n{result.stdout}{result.stderr}",
                "remove the folder if it holds a broken earlier attempt, then run `stockstream up` again",
            )
        log.info("formatted KRaft storage in %s (cluster id %s)", self.data_dir, cluster_id)

    def start(self) -> None:
        """Start the broker (formatting storage the first time) and wait until it serves clients."""
        if self.process.is_running():
            return
        s = self.settings
        for port in (s.kafka_port, s.kafka_controller_port):
            if port_in_use(s.host, port):
                raise StockstreamError(
                    f"port {s.host}:{port} is taken by another program, so the broker cannot bind it",
                    "stop that program, or choose other ports with STOCKSTREAM_KAFKA_PORT / "
                    "STOCKSTREAM_KAFKA_CONTROLLER_PORT",
                )
        self._write_config()
        self.format_storage()
        self.process.argv = self._java_argv("kafka.Kafka", str(self.config_path), heap=s.kafka_heap)
        self.process.start()
        from stockstream.broker.admin import broker_ready

        self.process.wait_healthy(lambda: broker_ready(self.bootstrap), timeout=s.start_timeout)

    def stop(self) -> bool:
        """SIGTERM: Kafka's controlled shutdown flushes every log and marks the shutdown clean, so
        the next start skips log recovery. True when the broker was running."""
        return self.process.stop(timeout=STOP_TIMEOUT)

    def is_running(self) -> bool:
        return self.process.is_running()

    @property
    def log_file(self) -> Path:
        return self.log_path
