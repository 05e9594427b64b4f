"""Typed settings: the one place that reads environment variables (prefix STOCKSTREAM_)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout this package was installed from (editable install): lakehouse/, dags/, .cache/."""

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Every knob of a stockstream instance. Two instances with different data roots and ports
    run side by side without touching each other."""

    model_config = SettingsConfigDict(
        env_prefix="STOCKSTREAM_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        # A validation error would otherwise print every value it was given, the SASL password too.
        hide_input_in_errors=True,
    )

    data_root: Path = Field(
        default=PROJECT_ROOT / "var",
        description="All state: lakehouse tables, checkpoints, broker data, Airflow home, logs, pid files.",
    )
    host: str = Field(default="127.0.0.1", description="Address every local service binds to.")

    # Kafka
    kafka_port: Port = Field(default=9092, description="Broker client listener port.")
    kafka_controller_port: Port = Field(default=9093, description="KRaft controller listener port.")
    kafka_heap: str = Field(default="384m", description="Broker JVM heap (-Xmx).")
    kafka_bootstrap: str | None = Field(
        default=None,
        description="Bootstrap servers of an external cluster; unset means the local broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT",
        description="How the clients (replay, admin, the stream) talk to an external cluster; the "
        "local broker speaks PLAINTEXT on the loopback only (docs/security.md).",
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism of SASL_SSL / SASL_PLAINTEXT."
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user of the clients.")
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="SASL password of the clients (keep it in the git-ignored .env)."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates (SSL / SASL_SSL); "
        "unset: the system's CAs (Python) and the JVM's default truststore (Spark).",
    )
    topic: str = Field(default="transactions", description="Topic the transactions are replayed into.")
    topic_partitions: int = Field(default=6, ge=1, description="Partitions of the transactions topic.")

    # Airflow
    airflow_port: Port = Field(default=8080, description="Airflow API server / UI port.")
    airflow_worker_log_port: Port = Field(default=8793, description="Airflow worker log server port.")
    airflow_trigger_log_port: Port = Field(default=8794, description="Airflow triggerer log server port.")
    airflow_parallelism: int = Field(
        default=4, ge=1, description="Airflow core.parallelism (SQLite: keep small)."
    )

    # Spark
    spark_master: str = Field(default="local[*]", description="Spark master URL: local[N], spark://, k8s://.")
    spark_driver_memory: str = Field(default="1g", description="Spark driver memory.")
    spark_shuffle_partitions: int = Field(default=4, ge=1, description="spark.sql.shuffle.partitions.")
    spark_ui: bool = Field(default=False, description="Start the Spark web UI (binds to host).")
    spark_quick_jit: bool = Field(
        default=True,
        description="Short-lived Spark drivers (every step but the stream) compile with C1 only: "
        "seconds less per step.",
    )
    spark_conf: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Extra Spark conf as 'key=value,key=value'; wins over every default.",
    )
    jars_dir: Path = Field(
        default=PROJECT_ROOT / ".cache" / "jars",
        description="Where Maven copies the broker's and Spark's jars (make jars).",
    )

    # Market data
    source: Literal["auto", "yfinance", "offline"] = Field(
        default="auto",
        description="Market data source: auto tries Yahoo briefly and falls back to offline.",
    )
    universe_file: Path | None = Field(
        default=None, description="CSV of the ticker universe (default: the packaged 53 tickers)."
    )
    sim_trades_per_day: int = Field(default=400, ge=1, description="Simulated trades per ticker and day.")
    sim_volume_scale: float = Field(
        default=1.0, gt=0, description="Scale of the daily volume the simulated trades add up to."
    )
    live_volatility: float = Field(
        default=0.0003,
        gt=0,
        le=0.01,
        description="Volatility of `simulate --live`'s random walk per square root of a second "
        "(0.0003: about 1.8% an hour).",
    )

    # Streaming
    trigger_interval: str = Field(default="5 seconds", description="Processing-time trigger of the stream.")
    max_offsets_per_trigger: int | None = Field(
        default=None, ge=1, description="Cap on Kafka records per micro-batch (unset: no cap)."
    )
    minute_bar_watermark: str = Field(
        default="2 minutes",
        description="How late an event may arrive and still count in its live 1-minute bar "
        "(later ones are picked up by `stockstream finalize`).",
    )
    alert_baseline_trades: int = Field(
        default=50,
        ge=2,
        description="Trades a ticker's volume baseline (EWMA) spans before spikes are judged.",
    )
    alert_spike_factor: float = Field(
        default=5.0, gt=1, description="A trade is a volume spike at this multiple of the baseline volume."
    )
    alert_run_length: int = Field(
        default=5, ge=2, description="Consecutive up-ticks on rising volume that make a run alert."
    )
    stream_drain_timeout: float = Field(
        default=15.0,
        gt=0,
        le=600,
        description="Seconds a stopping stream gives its micro-batches in flight to finish before it "
        "interrupts them (an interrupted batch is redone on restart). The supervisor of "
        "`stockstream up` kills the job 20 s after that; `stockstream down` waits 10 s more.",
    )

    # Orchestration (the market_day DAG, backfills, reports)
    backfill_max_active_runs: int = Field(
        default=1,
        ge=1,
        description="Days a backfill runs at once (each day's tasks start Spark: 1 on 2 cores).",
    )
    wait_timeout: float = Field(
        default=1800.0, gt=0, description="Seconds the DAG waits for the stream to process a replayed day."
    )
    wait_poke_interval: float = Field(
        default=10.0, gt=0, description="Seconds between two checks of the stream's progress by the DAG."
    )
    render_window_days: int = Field(
        default=5, ge=1, description="Trading days of the trailing window a day's report covers."
    )
    log_retention_days: int = Field(
        default=14, ge=1, description="Task and service logs older than this are removed by maintenance."
    )

    # Dashboard
    dashboard_port: Port = Field(default=8050, description="Live dashboard port (`stockstream up`).")
    dashboard_refresh_seconds: float = Field(
        default=3.0, ge=0.5, description="Seconds between two refreshes of the dashboard's live panels."
    )
    dashboard_chart_interval: float = Field(
        default=60.0,
        ge=0,
        description="Seconds the dashboard keeps showing rendered analyses while the gold tables keep "
        "changing, before it renders them again (rendering the six charts costs CPU).",
    )

    # SQL engine
    sql_port: Port = Field(
        default=15002,
        description="Port of the SQL engine (Spark Connect) that `stockstream up` starts and "
        "`stockstream sql` sends its statements to.",
    )

    # Service start-up
    start_timeout: float = Field(
        default=180.0, gt=0, description="Seconds a service may take to become healthy."
    )

    @field_validator("spark_conf", mode="before")
    @classmethod
    def _parse_spark_conf(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [item.strip() for item in value.split(",") if item.strip()]
            parsed: dict[str, str] = {}
            for pair in pairs:
                key, sep, val = pair.partition("=")
                if not sep or not key.strip():
                    raise ValueError(f"spark_conf entry {pair!r} is not key=value")
                parsed[key.strip()] = val.strip()
            return parsed
        return value

    @model_validator(mode="after")
    def _kafka_security(self) -> Self:
        protocol = self.kafka_security_protocol
        if protocol != "PLAINTEXT" and not self.kafka_bootstrap:
            raise ValueError(
                f"kafka_security_protocol {protocol} needs kafka_bootstrap (an external cluster): the "
                "local broker speaks PLAINTEXT on the loopback only"
            )
        if protocol.startswith("SASL_") and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"kafka_security_protocol {protocol} needs kafka_sasl_username and kafka_sasl_password"
            )
        if self.kafka_ssl_cafile is not None and not self.kafka_ssl_cafile.is_file():
            raise ValueError(f"kafka_ssl_cafile {self.kafka_ssl_cafile} is not a file")
        return self

    @field_validator("data_root", "jars_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # Derived locations: one data root holds everything.
    @property
    def lakehouse_dir(self) -> Path:
        return self.data_root / "lakehouse"

    @property
    def checkpoint_dir(self) -> Path:
        return self.data_root / "checkpoints"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_root / "warehouse"

    @property
    def kafka_dir(self) -> Path:
        return self.data_root / "kafka"

    @property
    def airflow_home(self) -> Path:
        return self.data_root / "airflow"

    @property
    def reports_dir(self) -> Path:
        """Rendered analyses: one folder per day and per trailing window."""
        return self.data_root / "reports"

    @property
    def log_dir(self) -> Path:
        return self.data_root / "logs"

    @property
    def run_dir(self) -> Path:
        return self.data_root / "run"

    @property
    def stream_status_file(self) -> Path:
        """The running stream's live status (JSON, rewritten every few seconds while it runs)."""
        return self.run_dir / "stream-status.json"

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka_bootstrap or f"{self.host}:{self.kafka_port}"

    @property
    def airflow_url(self) -> str:
        return f"http://{self.host}:{self.airflow_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.host}:{self.dashboard_port}"

    @property
    def python(self) -> str:
        """The interpreter of this install: Spark's Python workers and Airflow tasks use it."""
        return sys.executable

    @property
    def venv_bin(self) -> Path:
        return Path(sys.executable).parent


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment (and .env), with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]


def settings_env(settings: Settings) -> dict[str, str]:
    """The STOCKSTREAM_* environment that makes a child process see these same settings."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, dict):
            text = ",".join(f"{key}={val}" for key, val in value.items())
        elif isinstance(value, bool):
            text = str(value).lower()
        elif isinstance(value, SecretStr):
            text = value.get_secret_value()
        else:
            text = str(value)
        env[f"STOCKSTREAM_{name.upper()}"] = text
    return env
