"""Resource pressure: the stream started with a small driver heap against a large backlog, read
in micro-batches bounded by maxOffsetsPerTrigger. It must stay up (no restart by its supervisor),
keep every Kafka batch within the bound, and end exact."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping

import psutil

from stockstream import lake
from stockstream.chaos.figures import Figure
from stockstream.chaos.lab import Lab, Publisher, stream_job_pid
from stockstream.chaos.retention import supervisor_restarts
from stockstream.chaos.stream_kill import check_instance, reference_gold
from stockstream.config import Settings
from stockstream.tables import STREAM_PROGRESS

log = logging.getLogger(__name__)

TITLE = "small driver heap, large backlog"


def tree_rss(pids: Iterable[int]) -> tuple[int, int]:
    """Resident memory (bytes) of these processes and all their descendants, each counted once,
    and how many processes that is; (0, 0) when none is alive."""
    tree: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            root = psutil.Process(pid)
            tree.update((p.pid, p) for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            continue
    rss, alive = 0, 0
    for process in tree.values():
        try:
            rss += process.memory_info().rss
        except psutil.Error:  # exited between the listing and the reading
            continue
        alive += 1
    return rss, alive


class RssWatch(threading.Thread):
    """Samples the resident memory of named process trees every `interval` seconds: for each name,
    `sources[name]()` gives the trees' root pids (none while it is not running); the last sample,
    the peak and the process count of the last sample are kept per name, and the peak of their sum."""

    def __init__(
        self,
        sources: Mapping[str, Callable[[], Iterable[int]]],
        interval: float = 0.5,
        name: str = "rss-watch",
    ) -> None:
        super().__init__(daemon=True, name=name)
        self.sources = dict(sources)
        self.interval = interval
        self.last: dict[str, int] = dict.fromkeys(self.sources, 0)
        self.peak: dict[str, int] = dict.fromkeys(self.sources, 0)
        self.processes: dict[str, int] = dict.fromkeys(self.sources, 0)
        self.peak_total = 0
        self.samples = 0
        self.done = threading.Event()
        self._lock = threading.Lock()

    def sample(self) -> None:
        """One sample of every source."""
        taken = {name: tree_rss(pids()) for name, pids in self.sources.items()}
        with self._lock:
            for name, (rss, count) in taken.items():
                self.last[name] = rss
                self.processes[name] = count
                self.peak[name] = max(self.peak[name], rss)
            self.peak_total = max(self.peak_total, sum(rss for rss, _ in taken.values()))
            self.samples += 1

    def snapshot(self) -> tuple[dict[str, int], dict[str, int]]:
        """The last sample and the peak so far of each source, in bytes."""
        with self._lock:
            return dict(self.last), dict(self.peak)

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        """Stop sampling and wait for the thread (fine before it started, and twice)."""
        self.done.set()
        if self.ident is not None:
            self.join()


class Watch(RssWatch):
    """Samples the streaming job while it works through the backlog: the job pids seen (a
    second one means the supervisor restarted it) and the peak resident memory of the job's
    process tree (driver and its JVM)."""

    def __init__(self, settings: Settings, interval: float = 0.5) -> None:
        super().__init__({"job": self._job}, interval, name="pressure-watch")
        self.settings = settings
        self.pids: list[int] = []

    def _job(self) -> list[int]:
        pid = stream_job_pid(self.settings)
        if pid is None:
            return []
        if not self.pids or self.pids[-1] != pid:
            self.pids.append(pid)
        return [pid]

    @property
    def peak_rss(self) -> int:
        return self.peak["job"]


def run(
    lab: Lab,
    rng: random.Random,
    copies: int = 10,
    driver_memory: str = "512m",
    batch: int = 5000,
) -> Figure:
    """The lab's replay published `copies` times while the stream is down (a replay run again
    and again: `copies` x N records in Kafka, N distinct txn_ids, so silver keeps N and gold is
    unchanged), then the stream started with spark_driver_memory=`driver_memory` and
    max_offsets_per_trigger=`batch`. Checks: one job pid throughout, every bronze batch in
    ops.stream_progress within `batch` records, then check_instance. Recovery = start of the
    stream to silver caught up with the whole backlog."""
    figure = Figure(TITLE)
    expected = reference_gold(lab)
    settings = lab.instance("pressure", spark_driver_memory=driver_memory, max_offsets_per_trigger=batch)
    reports = []
    for _ in range(copies):
        publisher = Publisher(settings, lab.txns, lab.day_of)
        publisher.run()
        if publisher.error is not None:
            raise publisher.error
        reports.extend(publisher.reports)
    backlog = sum(report.sent for report in reports)
    lab.record_manifest(settings, reports)
    watch = Watch(settings)
    watch.start()
    started = time.monotonic()
    service = lab.start_stream(settings)
    try:
        lab.wait_caught_up(settings, timeout=1800)
    finally:
        watch.done.set()
        watch.join()
    figure.recovery_seconds.append(time.monotonic() - started)
    problems = check_instance(lab, settings, figure, expected)  # stops the stream first
    restarts = supervisor_restarts(service)
    # Read after the stop: the job writes the listener's bronze rows every few seconds.
    progress = lake.read(settings, STREAM_PROGRESS, columns=["query_name", "input_rows"])
    bronze = progress[progress["query_name"] == "bronze"]["input_rows"]
    silver = progress[progress["query_name"] == "silver"]["input_rows"]
    if len(watch.pids) != 1 or restarts:
        problems.append(f"the job was restarted: pids {watch.pids}; {restarts}")
    if int(bronze.sum()) != backlog:
        problems.append(f"bronze batches account for {int(bronze.sum())} of {backlog} records")
    over = [int(rows) for rows in bronze if rows > batch]
    if over:
        problems.append(f"{len(over)} bronze batches exceeded maxOffsetsPerTrigger={batch}: {over}")
    figure.trial(not problems, "; ".join(problems))
    figure.notes.append(
        f"backlog {backlog:,} records (the {len(lab.days)}-day replay published {copies} times: "
        f"{len(lab.txns):,} distinct txn_ids) read by a stream with spark_driver_memory={driver_memory}, "
        f"maxOffsetsPerTrigger={batch:,}: {len(bronze)} Kafka batches of at most "
        f"{int(bronze.max()):,} records, {len(silver)} silver batches of at most {int(silver.max()):,}; "
        f"peak job RSS {watch.peak_rss / 2**20:,.0f} MiB; {len(watch.pids)} job pid(s); "
        "recovery = stream start to caught up"
    )
    lab.remove(settings)
    return figure
