"""The walking skeleton's replay: a deterministic sample of transactions into Kafka (the broker ->
bronze integration test uses it; `stockstream replay --sample N` does the same with progress)."""

from __future__ import annotations

from datetime import date

from stockstream.broker.admin import ensure_topic
from stockstream.broker.replay import ReplayReport, publish
from stockstream.config import Settings
from stockstream.market.sample import sample_transactions


def replay_sample(settings: Settings, count: int, day: date) -> ReplayReport:
    """Publish the deterministic sample of `count` trades on `day`."""
    ensure_topic(settings)
    return publish(settings, sample_transactions(count, day))
