"""Data loss (records the broker deleted before the stream read them): reading where bronze's
checkpoint resumes, finding the gap, the message and hint, the job refusing to start on a gap,
and `stockstream status` saying so."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from stockstream.errors import StockstreamError
from stockstream.pipeline import stream
from stockstream.pipeline.data_loss import (
    DataLoss,
    committed_offsets,
    find_data_loss,
    mentions_data_loss,
)
from stockstream.services.stream import parse_status, read_status, unhealthy_reason
from stockstream.tables import BRONZE_TRANSACTIONS, table
from tests.conftest import isolated_settings

pytestmark = pytest.mark.unit

METADATA = json.dumps({"batchWatermarkMs": 0, "batchTimestampMs": 1795507139366, "conf": {}})


def write_batch(checkpoint: Path, batch: int, offsets: dict[str, int], *, committed: bool) -> None:
    """offsets/N (and commits/N) as Spark writes them for a query with one Kafka source."""
    (checkpoint / "offsets").mkdir(parents=True, exist_ok=True)
    (checkpoint / "commits").mkdir(parents=True, exist_ok=True)
    (checkpoint / "offsets" / str(batch)).write_text(
        f"v1\n{METADATA}\n{json.dumps({'transactions': offsets})}"
    )
    if committed:
        (checkpoint / "commits" / str(batch)).write_text('v1\n{"nextBatchWatermarkMs":0}')


def test_a_query_resumes_from_the_end_of_its_last_committed_batch(tmp_path: Path) -> None:
    write_batch(tmp_path, 0, {"0": 606, "1": 586, "2": 398}, committed=True)
    write_batch(tmp_path, 1, {"0": 900, "1": 586, "2": 400}, committed=True)
    # Batch 2 was planned but not committed: a restart runs it again from batch 1's end.
    write_batch(tmp_path, 2, {"0": 1200, "1": 700, "2": 500}, committed=False)
    assert committed_offsets(tmp_path, "transactions") == {0: 900, 1: 586, 2: 400}
    assert committed_offsets(tmp_path, "another-topic") is None


def test_a_query_without_a_committed_batch_has_no_offsets(tmp_path: Path) -> None:
    assert committed_offsets(tmp_path, "transactions") is None
    write_batch(tmp_path, 0, {"0": 10}, committed=False)
    assert committed_offsets(tmp_path, "transactions") is None


def test_records_deleted_below_the_resume_offset_are_lost_and_a_shrunk_partition_is_a_reset() -> None:
    committed = {0: 900, 1: 586, 2: 400}
    earliest = {0: 1000, 1: 586, 2: 0}  # partition 0 lost 900..999; 1 starts exactly where we resume
    ends = {0: 1500, 1: 700, 2: 10}  # partition 2 was made again: it ends before our offset
    lost, reset = find_data_loss(committed, earliest, ends)
    assert lost == {0: (900, 1000)}
    assert reset == {2: (400, 10)}
    assert find_data_loss(committed, {0: 900, 1: 0, 2: 400}, {0: 900, 1: 586, 2: 400}) == ({}, {})


def test_the_data_loss_message_names_the_offsets_and_the_way_out(tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoints" / "bronze" / "transactions" / "main"
    loss = DataLoss("transactions", {0: (900, 1000), 2: (5, 7)}, {}, checkpoint)
    assert loss.records == 102
    assert loss.message() == (
        "DATA LOSS: 102 records of topic transactions were deleted by the broker (retention) before the "
        "stream read them: partition 0 offsets 900-999, partition 2 offsets 5-6"
    )
    assert f"mv {checkpoint} {checkpoint}.lost" in loss.hint()
    assert "stockstream replay" in loss.hint()
    error = loss.error()
    assert isinstance(error, StockstreamError)
    assert error.message == loss.message()
    reset = DataLoss("transactions", {}, {1: (586, 3)}, checkpoint)
    assert reset.records == 0
    assert reset.message() == (
        "DATA LOSS: topic transactions was deleted and made again "
        "(partition 1 ends at 3, the stream had read to 586)"
    )


@pytest.mark.parametrize(
    ("text", "loss"),
    [
        ("[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE] Some data may have been lost ...", True),
        ('Cannot fetch offset 5 ... set the source option "failOnDataLoss" to "false".', True),
        ("[STREAM_FAILED] Query [id = 1] terminated with exception: Connection refused", False),
    ],
)
def test_a_kafka_data_loss_failure_is_told_from_other_failures(text: str, loss: bool) -> None:
    assert mentions_data_loss(RuntimeError(text)) is loss


def test_the_job_refuses_to_start_on_a_gap_and_says_so_in_its_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated_settings(tmp_path)
    checkpoint = table(BRONZE_TRANSACTIONS).checkpoint(settings)
    loss = DataLoss(settings.topic, {1: (40, 75)}, {}, checkpoint)
    monkeypatch.setattr(stream, "check_data_loss", lambda _: loss)
    started = datetime.now(UTC)
    with pytest.raises(StockstreamError) as raised:
        stream.run(settings)  # raises before any Spark session is made
    assert raised.value.message.startswith("DATA LOSS: 35 records of topic")
    status = read_status(settings.stream_status_file)
    assert status is not None
    assert status.state == "failed"
    assert status.error == str(loss.error())
    # What `stockstream status` shows while the supervisor waits to restart the job.
    shown = unhealthy_reason(status, started - timedelta(seconds=1), datetime.now(UTC), job_pids=set())
    assert shown is not None
    assert shown.startswith("job failed (restarting): DATA LOSS: 35 records of topic")
    assert "partition 1 offsets 40-74" in shown
    assert f"mv {checkpoint}" in shown
    assert "\n" not in shown


def test_a_query_failing_on_data_loss_becomes_the_data_loss_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated_settings(tmp_path)
    checkpoint = table(BRONZE_TRANSACTIONS).checkpoint(settings)
    loss = DataLoss(settings.topic, {0: (3, 9)}, {}, checkpoint)
    monkeypatch.setattr(stream, "check_data_loss", lambda _: loss)
    failed = RuntimeError("[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE] Some data may have been lost")
    explained = stream.explain_failure(settings, failed)
    assert isinstance(explained, StockstreamError)
    assert explained.message == loss.message()
    other = RuntimeError("Connection refused")
    assert stream.explain_failure(settings, other) is other
    # The loss no longer visible (e.g. the checkpoint moved meanwhile): Spark's own words.
    monkeypatch.setattr(stream, "check_data_loss", lambda _: None)
    fallback = stream.explain_failure(settings, failed)
    assert isinstance(fallback, StockstreamError)
    assert fallback.message == (
        f"DATA LOSS: the Kafka source of {settings.topic} found records missing: "
        "[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE] Some data may have been lost"
    )


def test_the_status_keeps_a_failures_first_line_or_a_stockstream_error_whole() -> None:
    trace = "org.apache.spark.SparkException: boom\n\tat org.apache.spark.Foo(Foo.scala:1)"
    assert stream.status_error(RuntimeError(trace)) == "org.apache.spark.SparkException: boom"
    assert stream.status_error(StockstreamError("lost", "do this")) == "lost\n  -> do this"
    assert stream.status_error(RuntimeError("")) == "RuntimeError"
    assert stream.status_error(RuntimeError("x" * 2000), limit=10) == "xxxxxxx..."


def test_a_failed_status_is_unhealthy_with_its_reason() -> None:
    now = datetime(2026, 11, 23, 21, 5, tzinfo=UTC)
    text = json.dumps(
        {
            "pid": 123,
            "state": "failed",
            "started_at": (now - timedelta(seconds=30)).isoformat(),
            "updated_at": (now - timedelta(seconds=2)).isoformat(),
            "queries": {},
            "silver_offsets": {},
            "error": "DATA LOSS: 5 records\n  -> replay them",
        }
    )
    status = parse_status(text)
    assert status is not None
    assert status.error == "DATA LOSS: 5 records\n  -> replay them"
    started = now - timedelta(minutes=1)
    assert unhealthy_reason(status, started, now) == "job failed: DATA LOSS: 5 records -> replay them"
    assert (
        unhealthy_reason(status, started, now, job_pids={123})
        == "job failed: DATA LOSS: 5 records -> replay them"
    )
    assert unhealthy_reason(status, started, now, job_pids={456}) == (
        "job failed (restarting): DATA LOSS: 5 records -> replay them"
    )
    no_reason = parse_status(
        text.replace('"error": "DATA LOSS: 5 records\\n  -> replay them"', '"error": null')
    )
    assert no_reason is not None and no_reason.error is None
    assert unhealthy_reason(no_reason, started, now) == "job failed: no reason recorded: see the stream log"
