"""The chaos lab of the reduced scenarios: one broker and one template lakehouse for the module's
tests (the session's SparkSession runs setup and the finaliser), every scenario seeded."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from stockstream.chaos.lab import Lab

FIRST_DAY, LAST_DAY = date(2026, 10, 5), date(2026, 10, 7)


@pytest.fixture(scope="session")
def lab(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab.open(tmp_path_factory.mktemp("chaos"), FIRST_DAY, LAST_DAY, spark=spark) as opened:
        yield opened


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    """Seeded per test: the same steps on every run."""
    return random.Random(f"7-{request.node.name}")
