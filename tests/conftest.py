"""Shared fixtures: an isolated instance (own data root, own ports), the real broker, one SparkSession."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stockstream.config import Settings
from stockstream.services.process import free_port, free_ports

__all__ = ["free_port", "isolated_settings"]


def isolated_settings(data_root: Path, **overrides: object) -> Settings:
    """Settings of an instance of its own: its data root and free ports for every service."""
    ports = free_ports()
    return Settings(data_root=data_root, **{**ports, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data-root")


@pytest.fixture(scope="session")
def settings(data_root: Path) -> Settings:
    """Settings of a test instance: nothing shared with a developer's running var/."""
    return isolated_settings(
        data_root,
        spark_master="local[2]",
        spark_shuffle_partitions=2,
        topic_partitions=3,
        start_timeout=120,
    )


@pytest.fixture(scope="session")
def broker(settings: Settings) -> Iterator[Settings]:
    """A real single-node KRaft broker for the session; stopped at the end."""
    from stockstream.broker.local import LocalBroker

    local = LocalBroker(settings)
    local.start()
    try:
        yield settings
    finally:
        local.stop()


@pytest.fixture(scope="session")
def spark(settings: Settings):  # type: ignore[no-untyped-def]
    """The session's one SparkSession (local[2], 2 shuffle partitions, UI off), with the full JIT:
    it works for the whole run (tests/integration/test_lakehouse.py took 192 s with C1 only, 160 s
    without)."""
    from stockstream.spark import spark_session

    session = spark_session(settings, "stockstream-tests", long_running=True)
    yield session
    session.stop()
