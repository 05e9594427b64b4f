"""`stockstream up | down | status`: the local services of one instance, together."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from stockstream.broker.admin import broker_ready, ensure_topic, partition_count
from stockstream.broker.local import LocalBroker
from stockstream.config import Settings
from stockstream.services.airflow import AirflowService
from stockstream.services.dashboard import DashboardService
from stockstream.services.sql_engine import SqlEngineService
from stockstream.services.stream import StreamService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    """One line of `stockstream status`."""

    name: str
    running: bool
    healthy: bool
    detail: str
    log: str


class Platform:
    """The services of one data root: the Kafka broker, the streaming job, the SQL engine, the
    dashboard, then Airflow."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.broker = LocalBroker(settings)
        self.stream = StreamService(settings)
        self.sql = SqlEngineService(settings)
        self.dashboard = DashboardService(settings)
        self.airflow = AirflowService(settings)

    def up(self, airflow: bool = True, stream: bool = True, dashboard: bool = True, sql: bool = True) -> None:
        """Start what is not running and wait until each is healthy; running twice is fine."""
        self.settings.data_root.mkdir(parents=True, exist_ok=True)
        log.info("starting the Kafka broker on %s", self.broker.bootstrap)
        self.broker.start()
        ensure_topic(self.settings)
        if stream:
            log.info("starting the streaming job (%s -> bronze/silver/gold)", self.settings.topic)
            self.stream.start()
        if sql:
            log.info("starting the SQL engine on %s", self.sql.url)
            self.sql.start()
        if dashboard:
            log.info("starting the dashboard on %s", self.settings.dashboard_url)
            self.dashboard.start()
        if airflow:
            log.info("starting Airflow on %s", self.settings.airflow_url)
            self.airflow.start()

    def down(self) -> list[str]:
        """Stop everything this data root runs; returns the names that were running."""
        stopped = []
        # The stream first: it reads the broker, and a job stopped while the broker runs
        # ends its batches cleanly instead of retrying against a broker that is gone.
        if self.stream.stop():
            stopped.append(self.stream.name)
        if self.sql.stop():
            stopped.append(self.sql.name)
        if self.dashboard.stop():
            stopped.append(self.dashboard.name)
        if self.airflow.stop():
            stopped.append(self.airflow.name)
        if self.broker.stop():
            stopped.append(self.broker.name)
        return stopped

    def status(self) -> list[ServiceStatus]:
        s = self.settings
        broker_up = self.broker.is_running()
        broker_ok = broker_up and broker_ready(self.broker.bootstrap)
        topic = f", topic {s.topic}: {partition_count(s, s.topic)} partitions" if broker_ok else ""
        airflow_up = self.airflow.is_running()
        health = self.airflow.health() if airflow_up else {}
        password = self.airflow.admin_password()
        login = f", login admin / {password}" if password else ""
        components = ", ".join(f"{key} {value}" for key, value in health.items())
        stream_up = self.stream.is_running()
        dashboard_up = self.dashboard.is_running()
        sql_up = self.sql.is_running()
        return [
            ServiceStatus(
                name="kafka",
                running=broker_up,
                healthy=broker_ok,
                detail=f"{self.broker.bootstrap}{topic}",
                log=str(self.broker.log_file),
            ),
            ServiceStatus(
                name="stream",
                running=stream_up,
                healthy=stream_up and self.stream.healthy(),
                detail=self.stream.status_detail(),
                log=str(self.stream.log_path),
            ),
            ServiceStatus(
                name=self.sql.name,
                running=sql_up,
                healthy=sql_up and self.sql.healthy(),
                detail=self.sql.url if not sql_up or self.sql.healthy() else f"{self.sql.url} (warming up)",
                log=str(self.sql.log_path),
            ),
            ServiceStatus(
                name="dashboard",
                running=dashboard_up,
                healthy=dashboard_up and self.dashboard.healthy(),
                detail=self.dashboard.url,
                log=str(self.dashboard.log_path),
            ),
            ServiceStatus(
                name="airflow",
                running=airflow_up,
                healthy=bool(health) and all(v == "healthy" for v in health.values()),
                detail=f"{s.airflow_url}{login}" + (f" ({components})" if components else ""),
                log=str(s.log_dir / "airflow-*.log"),
            ),
        ]
