"""Kafka retention overtaking a stopped stream: records the stream had not read are deleted by the
broker. The loss must be detected and reported loudly (status, log, error naming the offsets),
nothing after the gap processed, nothing fabricated; following the reported way out (replay the
days, move bronze's checkpoint aside) must end with silver and gold exact."""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from stockstream import lake
from stockstream.broker.admin import end_offsets
from stockstream.broker.security import kafka_client_config
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, Publisher
from stockstream.chaos.stream_kill import check_instance, reference_gold
from stockstream.completion import processed_offsets
from stockstream.config import Settings
from stockstream.errors import StockstreamError
from stockstream.market.transactions import Transaction
from stockstream.services.process import wait_until
from stockstream.services.stream import StreamService
from stockstream.tables import BRONZE_TRANSACTIONS, SILVER_TRANSACTIONS, table

log = logging.getLogger(__name__)

TITLE = "Kafka retention overtaking a stopped stream"
REPORTED = re.compile(r"DATA LOSS: ([\d,]+) records")


def delete_records(settings: Settings, before: dict[int, int]) -> None:
    """Make the broker drop every record below `before[partition]`, as retention does."""
    admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **kafka_client_config(settings))
    with closing(admin):
        admin.delete_records({TopicPartition(settings.topic, p): offset for p, offset in before.items()})


def txn_ids(settings: Settings, ranges: dict[int, tuple[int, int]]) -> set[str]:
    """The txn_ids of the records at offsets [start, end) of each partition."""
    ids: set[str] = set()
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        **kafka_client_config(settings),
    )
    with closing(consumer):
        for partition, (start, end) in ranges.items():
            tp = TopicPartition(settings.topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, start)
            while consumer.position(tp) < end:
                for records in consumer.poll(timeout_ms=1000).values():
                    ids.update(json.loads(r.value)["txn_id"] for r in records if r.offset < end)
    return ids


def supervisor_restarts(service: StreamService) -> list[str]:
    """The supervisor's restart lines in the stream log ('... restarting in 4.0s')."""
    text = service.log_path.read_text(encoding="utf-8", errors="replace")
    return re.findall(r"failed with exit code \S+ after [\d.]+s; restarting in [\d.]+s", text)


@dataclass
class Gap:
    """Records the broker dropped before the stream read them: per partition [first, next)."""

    resume: dict[int, int]  # silver's offsets when the stream stopped
    ranges: dict[int, tuple[int, int]]
    txn_ids: set[str]

    @property
    def records(self) -> int:
        return sum(end - start for start, end in self.ranges.values())


def make_gap(lab: Lab, rng: random.Random, settings: Settings) -> Gap:
    """The stream processes a random first part of the replay and stops; the rest is published;
    the broker drops the records below a random offset past silver's in a random set of
    partitions."""
    service = lab.start_stream(settings)
    cut = rng.randint(len(lab.txns) // 4, len(lab.txns) // 2)
    publish(lab, settings, lab.txns[:cut])
    lab.wait_caught_up(settings)
    service.stop()
    publish(lab, settings, lab.txns[cut:])
    resume = processed_offsets(settings)
    ends = end_offsets(settings)
    behind = [p for p, end in ends.items() if end > resume.get(p, 0)]
    chosen = sorted(rng.sample(behind, rng.randint(1, len(behind))))
    ranges = {p: (resume.get(p, 0), rng.randint(resume.get(p, 0) + 1, ends[p])) for p in chosen}
    gap = Gap(resume, ranges, txn_ids(settings, ranges))
    delete_records(settings, {p: end for p, (_, end) in ranges.items()})
    log.info(
        "%s: the broker dropped %d records the stream had not read: %s", settings.topic, gap.records, ranges
    )
    return gap


def publish(lab: Lab, settings: Settings, txns: Sequence[Transaction]) -> Publisher:
    publisher = Publisher(settings, txns, lab.day_of)
    publisher.run()
    if publisher.error is not None:
        raise publisher.error
    return publisher


def watch_status(service: StreamService, watch_seconds: float) -> tuple[str, list[str]]:
    """Start the supervised stream again (it cannot become healthy) and read what `stockstream
    status` says of it once it reports the loss, and again `watch_seconds` later (the supervisor
    restarting it meanwhile). Returns the last status and what went wrong."""
    service.process.start()
    shown = ""

    def reported() -> bool:
        nonlocal shown
        shown = service.unhealthy_reason() or ""
        return "DATA LOSS" in shown

    if not wait_until(reported, watch_seconds * 4, 1.0):
        return shown, [f"no data loss reported within {watch_seconds * 4:.0f}s; status: {shown!r}"]
    time.sleep(watch_seconds)
    if not reported():
        return shown, [f"the data loss was no longer reported {watch_seconds:.0f}s later: {shown!r}"]
    return shown, []


def gap_problems(settings: Settings, gap: Gap, shown: str) -> list[str]:
    """The status names the count and each partition's lost offsets; silver and bronze hold
    nothing past where the stream stopped and no txn_id the broker dropped."""
    problems = []
    match = REPORTED.search(shown)
    reported = int(match.group(1).replace(",", "")) if match else 0
    if reported != gap.records:
        problems.append(f"{gap.records} records dropped, {reported} reported")
    for p, (start, end) in gap.ranges.items():
        if f"partition {p} offsets {start}-{end - 1}" not in shown:
            problems.append(f"partition {p}'s lost offsets {start}-{end - 1} are not named")
    if processed_offsets(settings) != gap.resume:
        problems.append(f"silver moved past the gap: {processed_offsets(settings)} (was {gap.resume})")
    bronze = lake.read(settings, BRONZE_TRANSACTIONS, columns=["partition", "offset"])
    stopped_at = bronze["partition"].map(lambda p: gap.resume.get(int(p), 0))
    if past := int((bronze["offset"] >= stopped_at).sum()):
        problems.append(f"bronze holds {past} records past where the stream stopped")
    silver_ids = set(lake.read(settings, SILVER_TRANSACTIONS, columns=["txn_id"])["txn_id"])
    if fabricated := len(silver_ids & gap.txn_ids):
        problems.append(f"silver holds {fabricated} txn_ids the broker dropped")
    return problems


def take_way_out(lab: Lab, settings: Settings) -> float:
    """What the status tells the user: replay the days, move bronze's checkpoint aside. The
    supervisor's next restart picks that up. Seconds from the move to silver caught up."""
    publisher = publish(lab, settings, lab.txns)
    lab.record_manifest(settings, publisher.reports)
    checkpoint = table(BRONZE_TRANSACTIONS).checkpoint(settings)
    moved_at = time.monotonic()
    shutil.move(checkpoint, checkpoint.with_name(checkpoint.name + ".lost"))
    lab.wait_caught_up(settings, timeout=600)
    return time.monotonic() - moved_at


def run(lab: Lab, rng: random.Random, trials: int = 3, watch_seconds: float = 60.0) -> Figure:
    """`trials` times, in a fresh instance: make_gap, start the supervised stream again, check
    what `stockstream status` says (watch_status, gap_problems), then take the way out it names
    and require check_instance to pass. records = published txn_ids; lost = records dropped that
    the status did not report, plus any missing from silver at the end; recovery = bronze's
    checkpoint moved aside to silver caught up."""
    figure = Figure(TITLE)
    expected = reference_gold(lab)
    dropped = reported = 0
    messages: list[str] = []
    restarts: list[int] = []
    for trial in range(trials):
        settings = lab.instance(f"retention-{trial}")
        gap = make_gap(lab, rng, settings)
        service = StreamService(settings)
        shown, problems = watch_status(service, watch_seconds)
        problems += gap_problems(settings, gap, shown)
        messages.append(shown)
        restarts.append(len(supervisor_restarts(service)))
        dropped += gap.records
        if "DATA LOSS" in shown and not any("reported" in p for p in problems):
            reported += gap.records
        try:
            figure.recovery_seconds.append(take_way_out(lab, settings))
        except StockstreamError as exc:
            problems.append(f"after the way out: {exc}")
        problems += check_instance(lab, settings, figure, expected)
        figure.trial(not problems, "; ".join(problems))
        lab.remove(settings)
    figure.lost += dropped - reported
    said = messages[0].split(" -> ")[0] if messages else "-"
    figure.notes.append(
        f"{dropped:,} records dropped by retention before the stream read them, {reported:,} reported "
        f"(lost undetected: {dropped - reported}); supervisor restarts while failed: "
        f"{', '.join(map(str, restarts))}; recovery = bronze checkpoint moved aside (after the replay ran "
        f"again) to silver caught up; `stockstream status` said: {said!r} (then what to do: replay the "
        "days, move bronze's checkpoint aside, as the way out taken here)"
    )
    return figure
