"""The finaliser overtaken by a stream batch, made certain: the reduced, deterministic form of the
concurrent-writers scenario that `make test` runs (the scenario itself, the finaliser run back to
back while the stream writes the day, is in test_stream_faults.py)."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from stockstream.broker.replay import publish
from stockstream.chaos import expect
from stockstream.chaos.lab import Lab
from stockstream.config import Settings, settings_env
from stockstream.pipeline import finalize, writes
from stockstream.tables import STOCK_DAILY


def stream_job(settings: Settings) -> None:
    """The streaming job run once (--available-now) in a process of its own, as the stream is a
    writer in another JVM than the finaliser's (a write in the same session would refresh the
    finaliser's cached silver and hide the race)."""
    done = subprocess.run(
        [settings.python, "-m", "stockstream.cli", "stream", "--available-now"],
        env={**os.environ, **settings_env(settings)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_finaliser_overtaken_by_a_stream_batch_leaves_no_stale_gold(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The race the concurrent scenario hunts, made certain: the finaliser has read the day's
    silver when the stream adds rows of that day and rewrites its gold; the finaliser's gold
    writes then commit. They must not put the older values back (a lost update)."""
    settings = lab.instance("finaliser-race")
    day = lab.days[1]
    txns = [t for t in lab.txns if lab.day_of(t) == day]
    first, second = txns[: len(txns) // 2], txns[len(txns) // 2 :]
    publish(settings, first, day_of=lab.day_of)
    stream_job(settings)
    replace_days = writes.replace_days
    overtaken: list[int] = []

    def overtaken_write(*args: Any, **kwargs: Any) -> int:
        if not overtaken:  # the finaliser's first write: its silver is read, no gold written yet
            overtaken.append(1)
            publish(settings, second, day_of=lab.day_of)
            stream_job(settings)
        return replace_days(*args, **kwargs)

    monkeypatch.setattr(finalize, "replace_days", overtaken_write)
    report = finalize.finalize_day(lab.spark, settings, day)
    assert overtaken == [1]
    assert any("grew from" in record.getMessage() for record in caplog.records), "it saw silver grow"
    expected = expect.expected_stock_daily(txns, lab.day_of)
    got = {key: row for key, row in expect.stock_daily(settings).items() if key[0] == day}
    assert expect.differences(got, expected) == []
    tickers = len({t.ticker for t in txns})
    assert len(got) == tickers > 1
    assert report.gold_rows[STOCK_DAILY] == tickers
    lab.remove(settings)
