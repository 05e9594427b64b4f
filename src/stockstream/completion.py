"""Whether the stream has processed what was replayed: the replay manifest's end offsets against
silver's committed offsets in ops.stream_progress. Read without a JVM (stockstream.lake), so a CLI
wait, an Airflow sensor poke and the finaliser all answer it the same way, cheaply."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from stockstream import lake
from stockstream.config import Settings
from stockstream.tables import REPLAY_MANIFEST, STREAM_PROGRESS

SILVER_QUERY = "silver"


def processed_offsets(settings: Settings, query: str = SILVER_QUERY) -> dict[int, int]:
    """Kafka partition -> next offset the query will process (everything below is done)."""
    rows = lake.read(
        settings,
        STREAM_PROGRESS,
        columns=["end_offsets"],
        where=[("query_name", "=", query), ("topic", "=", settings.topic)],
    )
    done: dict[int, int] = {}
    for offsets in rows["end_offsets"]:
        # A MAP column arrives as a list of (key, value) pairs.
        for partition, offset in offsets or ():
            done[int(partition)] = max(done.get(int(partition), 0), int(offset))
    return done


def manifest_end_offsets(settings: Settings, days: Sequence[date]) -> dict[int, int]:
    """Kafka partition -> offset after the last record the replays of these days published to
    the topic (empty when no replay of them is recorded)."""
    if not days:
        return {}
    rows = lake.read(
        settings,
        REPLAY_MANIFEST,
        columns=["partition", "end_offset"],
        where=[("trade_date", "in", list(days)), ("topic", "=", settings.topic)],
    )
    if rows.empty:
        return {}
    ends = rows.groupby("partition")["end_offset"].max()
    return {int(partition): int(end) for partition, end in ends.items()}


def replayed_records(settings: Settings, day: date) -> int:
    """Records the replays of `day` published to the topic, as ops.replay_manifest records them
    (0 when no complete replay of the day is on record)."""
    rows = lake.read(
        settings,
        REPLAY_MANIFEST,
        columns=["records"],
        where=[("trade_date", "=", day), ("topic", "=", settings.topic)],
    )
    return int(rows["records"].sum()) if not rows.empty else 0


def behind(done: dict[int, int], targets: dict[int, int]) -> dict[int, int]:
    """partition -> offsets still to process before `done` reaches `targets`."""
    return {p: end - done.get(p, 0) for p, end in sorted(targets.items()) if done.get(p, 0) < end}


@dataclass(frozen=True)
class DayCompletion:
    """Whether silver has processed everything the replays of a day published."""

    trade_date: date
    replayed: bool
    behind: dict[int, int]  # partition -> records still to process

    @property
    def complete(self) -> bool:
        return self.replayed and not self.behind

    def describe(self) -> str:
        if not self.replayed:
            return f"{self.trade_date} has no replay manifest: replay it first"
        if not self.behind:
            return f"{self.trade_date} is complete in silver"
        missing = sum(self.behind.values())
        return f"{self.trade_date}: {missing} records in {len(self.behind)} partitions not processed yet"


def day_completion(settings: Settings, trade_date: date) -> DayCompletion:
    """Compare the day's replay manifest (end offsets per partition) with silver's progress."""
    targets = manifest_end_offsets(settings, [trade_date])
    if not targets:
        return DayCompletion(trade_date, replayed=False, behind={})
    return DayCompletion(trade_date, replayed=True, behind=behind(processed_offsets(settings), targets))


def wait_processed(
    settings: Settings,
    targets: dict[int, int],
    *,
    timeout: float,
    on_poll: Callable[[int], None] | None = None,
    interval: float = 2.0,
) -> dict[int, int]:
    """Poll ops.stream_progress until silver has processed every partition up to `targets`
    (next offsets, exclusive); returns what is still behind (empty when done in time)."""
    deadline = time.monotonic() + timeout
    while True:
        missing = behind(processed_offsets(settings), targets)
        if on_poll is not None:
            on_poll(sum(missing.values()))
        if not missing or time.monotonic() >= deadline:
            return missing
        time.sleep(interval)
