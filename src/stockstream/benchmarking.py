"""What the scripts under benchmarks/ share: the machine line their results carry, and running one
`stockstream ...` step the way Airflow's tasks do (its own process), ending the benchmark with the
step's message when it fails."""

from __future__ import annotations

import os
import platform
from datetime import date

from stockstream.chaos.airflow_faults import stockstream
from stockstream.config import Settings
from stockstream.errors import StockstreamError

STEP_TIMEOUT = 1800.0
"""Seconds one CLI step may take."""


def machine() -> str:
    """Platform, architecture, cores, memory, Python and today's date, for a result's header."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, {memory:.1f} GiB, "
        f"Python {platform.python_version()}, {date.today()}"
    )


def cli(settings: Settings, *args: str, timeout: float = STEP_TIMEOUT) -> str:
    """The output of one `stockstream ...` run for `settings`; exits with the output's tail when
    it fails."""
    try:
        return stockstream(settings, *args, timeout=timeout)
    except StockstreamError as exc:
        raise SystemExit(str(exc)) from None
