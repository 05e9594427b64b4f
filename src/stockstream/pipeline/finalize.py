"""The day finaliser: recompute a day's gold in batch from silver, reconcile, record the checks.

Checks (ops.data_quality, one row per check):
- `stream_complete`: silver has processed every offset the day's replays published.
- `stream_equals_batch` (invariant 2): the gold the stream wrote equals the batch recomputation.
- `source_fidelity` (invariant 1): each replayed ticker's open/high/low/close/volume equal its
  reference.daily_bars row (skipped for days without a replay manifest, e.g. CSV replays).
- `conservation` (invariant 4): bronze's valid records of the day = silver rows + duplicates.
- `quarantine_complete` (invariant 4): every rejected bronze record is in silver.quarantine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from stockstream.completion import day_completion, manifest_end_offsets
from stockstream.config import Settings
from stockstream.market.model import DailyBar
from stockstream.market.simulator import scaled_volume
from stockstream.pipeline import gold
from stockstream.pipeline.daily import (
    DAILY_KEYS,
    daily_gold,
    silver_days,
    write_minute_bars,
)
from stockstream.pipeline.silver import validate
from stockstream.pipeline.writes import merge_days, replace_days
from stockstream.tables import (
    BRONZE_TRANSACTIONS,
    DAILY_BARS,
    DATA_QUALITY,
    DIM_STOCK,
    MINUTE_BARS,
    SILVER_QUARANTINE,
    STOCK_DAILY,
    register,
    table,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
CHECK_SCHEMA = (
    "trade_date date, check_name string, status string, expected double, observed double, "
    "detail string, checked_at timestamp"
)
FIDELITY_FIELDS = ("open", "high", "low", "close", "volume")
RECOMPUTE_ATTEMPTS = 5
"""Times a day is recomputed when the stream keeps adding rows of it while it is finalised."""


@dataclass(frozen=True)
class Check:
    """One reconciliation result of a day."""

    name: str
    status: str
    expected: float | None
    observed: float | None
    detail: str


@dataclass(frozen=True)
class FinalizeReport:
    """What `stockstream finalize --date D` found and wrote."""

    trade_date: date
    checks: list[Check]
    gold_rows: dict[str, int]
    seconds: dict[str, float]
    """Wall time of each phase: `recompute` (gold from silver, merged in), `checks` (the
    reconciliation and ops.data_quality); bronze's re-validation is shared by the days and logged."""

    @property
    def passed(self) -> bool:
        return all(check.status != FAIL for check in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((check for check in self.checks if check.status == FAIL), None)


def _stream_equals_batch(changed: dict[str, int]) -> Check:
    """Invariant 2, read off the finaliser's own writes: they change only rows whose values
    differ from the batch recomputation (bookkeeping aside), so each table's changed-row count is
    the number of keys in which the stream's gold and the batch disagreed."""
    bad = {name: n for name, n in changed.items() if n}
    detail = (
        "stream gold equals the batch recomputation in " + ", ".join(changed)
        if not bad
        else "rows the batch recomputation changed: " + ", ".join(f"{name} {n}" for name, n in bad.items())
    )
    return Check("stream_equals_batch", FAIL if bad else PASS, 0, float(sum(bad.values())), detail)


def _source_fidelity(spark: SparkSession, settings: Settings, day: date) -> Check:
    """Compare gold.stock_daily with the day's daily bars (bounded: one row per ticker)."""
    replayed = bool(manifest_end_offsets(settings, [day]))
    if not replayed or not table(DAILY_BARS).exists(settings):
        return Check("source_fidelity", SKIPPED, None, None, "no simulator replay of this day (no manifest)")
    bars = table(DAILY_BARS).read(spark, settings).where(F.col("trade_date") == F.lit(day)).collect()
    stocks = {
        row["ticker"]: row
        for row in table(STOCK_DAILY).read(spark, settings).where(F.col("trade_date") == F.lit(day)).collect()
    }
    mismatches: list[str] = []
    for bar in sorted(bars, key=lambda b: b["ticker"]):
        expected = {
            "open": bar["open"],
            "high": bar["high"],
            "low": bar["low"],
            "close": bar["close"],
            "volume": scaled_volume(
                DailyBar(
                    bar["ticker"],
                    day,
                    bar["open"],
                    bar["high"],
                    bar["low"],
                    bar["close"],
                    bar["volume"],
                    bar["source"],
                ),
                settings.sim_volume_scale,
            ),
        }
        got = stocks.get(bar["ticker"])
        if got is None:
            mismatches.append(f"{bar['ticker']}: no gold row")
            continue
        for field in FIDELITY_FIELDS:
            if got[field] != expected[field]:
                mismatches.append(f"{bar['ticker']} {field}: gold {got[field]} != bar {expected[field]}")
    detail = f"{len(bars)} tickers match their daily bar" if not mismatches else "; ".join(mismatches[:5])
    status = PASS if bars and not mismatches else FAIL
    if not bars:
        detail = "the day has a replay manifest but no reference.daily_bars rows"
    return Check("source_fidelity", status, float(len(bars)), float(len(bars) - len(mismatches)), detail)


@dataclass(frozen=True)
class BronzeAccount:
    """Bronze re-validated in batch: per day its valid records and distinct txn_ids, and the
    quarantine check (which spans every day: a rejected record may have no date)."""

    valid: dict[date, tuple[int, int]]
    quarantine: Check


def _bronze_account(spark: SparkSession, settings: Settings, days: list[date]) -> BronzeAccount:
    """Re-validate bronze in batch (the source of truth) once for all the days."""
    bronze = table(BRONZE_TRANSACTIONS).read(spark, settings)
    validated = validate(bronze, table(DIM_STOCK).read(spark, settings)).persist()
    try:
        rows = (
            validated.where(F.col("reason").isNull() & F.col("trade_date").isin(days))
            .groupBy("trade_date")
            .agg(F.count(F.lit(1)).alias("n"), F.countDistinct("txn_id").alias("distinct"))
            .collect()
        )
        coordinates = ["topic", "partition", "offset"]
        rejected = validated.where(F.col("reason").isNotNull()).select(*coordinates)
        quarantined = table(SILVER_QUARANTINE).read(spark, settings).select(*coordinates)
        missing = rejected.exceptAll(quarantined).count()
        extra = quarantined.exceptAll(rejected).count()
        rejected_total = rejected.count()
    finally:
        validated.unpersist()
    ok = missing == 0 and extra == 0
    quarantine = Check(
        "quarantine_complete",
        PASS if ok else FAIL,
        float(rejected_total),
        float(rejected_total - missing + extra),
        f"{rejected_total} rejected bronze records, all in silver.quarantine"
        if ok
        else f"{missing} rejected bronze records not in quarantine, {extra} quarantine rows not rejected",
    )
    valid = {row["trade_date"]: (int(row["n"]), int(row["distinct"])) for row in rows}
    return BronzeAccount(valid, quarantine)


def _conservation(account: BronzeAccount, day: date, silver_rows: int) -> Check:
    """Invariant 4 for a day: bronze's valid records = silver rows + duplicates dropped."""
    valid, distinct = account.valid.get(day, (0, 0))
    duplicates = valid - distinct
    return Check(
        "conservation",
        PASS if silver_rows == distinct else FAIL,
        float(valid),
        float(silver_rows + duplicates),
        f"bronze valid records {valid} = silver {silver_rows} + duplicates dropped {duplicates}"
        if silver_rows == distinct
        else f"bronze has {distinct} distinct valid txn_ids for the day, silver has {silver_rows}",
    )


def finalize_day(spark: SparkSession, settings: Settings, day: date) -> FinalizeReport:
    """Recompute the day's gold from silver, write it (only if it changed) and reconcile."""
    return finalize_days(spark, settings, [day])[0]


def finalize_days(
    spark: SparkSession, settings: Settings, days: list[date], on_day: Callable[[date], None] | None = None
) -> list[FinalizeReport]:
    """finalize_day for several days, re-validating bronze once for all of them."""
    from stockstream.pipeline.stream import STREAM_TABLES

    register(spark, settings, create=(*STREAM_TABLES, DATA_QUALITY))
    started = time.monotonic()
    account = _bronze_account(spark, settings, days)
    log.info("re-validated bronze for %d day(s) in %.1fs", len(days), time.monotonic() - started)
    reports = []
    for day in days:
        if on_day is not None:
            on_day(day)
        reports.append(_finalize(spark, settings, day, account))
    return reports


def _finalize(spark: SparkSession, settings: Settings, day: date, account: BronzeAccount) -> FinalizeReport:
    completion = day_completion(settings, day)
    checks = [
        Check(
            "stream_complete",
            PASS if completion.complete else (SKIPPED if not completion.replayed else FAIL),
            None,
            float(sum(completion.behind.values())),
            completion.describe(),
        )
    ]
    started = time.monotonic()
    for attempt in range(1, RECOMPUTE_ATTEMPTS + 1):
        silver_rows, changed, gold_rows = _recompute(spark, settings, day)
        # The stream (another process) may have added rows of the day since they were read and
        # rewritten the day's gold from them before the writes above put back values computed
        # from fewer rows: a lost update. silver is insert-only, so an unchanged count means
        # unchanged rows; a later stream batch rewrites gold after its own insert.
        now = silver_days(spark, settings, [day]).count()
        if now == silver_rows:
            break
        if attempt == RECOMPUTE_ATTEMPTS:
            log.warning(
                "silver of %s still grew (%d to %d rows) after %d recomputations: its checks may "
                "fail; finalise it again once the stream has caught up (stockstream wait --date %s)",
                day,
                silver_rows,
                now,
                RECOMPUTE_ATTEMPTS,
                day,
            )
            break
        log.warning(
            "silver of %s grew from %d to %d rows while it was finalised: recomputing (attempt %d of %d)",
            day,
            silver_rows,
            now,
            attempt + 1,
            RECOMPUTE_ATTEMPTS,
        )
    recomputed = time.monotonic()
    checks.append(_stream_equals_batch(changed))
    checks.append(_source_fidelity(spark, settings, day))
    checks.append(_conservation(account, day, silver_rows))
    checks.append(account.quarantine)
    _record(spark, settings, day, checks)
    seconds = {"recompute": recomputed - started, "checks": time.monotonic() - recomputed}
    log.info("finalised %s: recompute %.1fs, checks %.1fs", day, seconds["recompute"], seconds["checks"])
    return FinalizeReport(day, checks, gold_rows, seconds)


def _recompute(
    spark: SparkSession, settings: Settings, day: date
) -> tuple[int, dict[str, int], dict[str, int]]:
    """The day's gold recomputed from silver and written (only when it changed), minute bars
    included: (silver rows read, rows changed in each daily table, gold rows per table)."""
    silver = silver_days(spark, settings, [day]).persist()
    try:
        silver_rows = silver.count()
        stocks = gold.stock_daily(silver).persist()
        try:
            frames = daily_gold(silver, stocks)
            changed = {
                name: replace_days(
                    spark, table(name).path(settings), frame, DAILY_KEYS[name], [day], what=f"finalize {name}"
                )
                for name, frame in frames.items()
            }
            # Minute bars too: events that arrived after the watermark closed their window count here.
            write_minute_bars(spark, settings, gold.minute_bars(silver), [day], complete=True)
            gold_rows = {name: frame.count() for name, frame in frames.items()}
        finally:
            stocks.unpersist()
    finally:
        silver.unpersist()
    gold_rows[MINUTE_BARS] = (
        table(MINUTE_BARS).read(spark, settings).where(F.col("trade_date") == F.lit(day)).count()
    )
    return silver_rows, changed, gold_rows


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def _record(spark: SparkSession, settings: Settings, day: date, checks: list[Check]) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [(day, c.name, c.status, _number(c.expected), _number(c.observed), c.detail, now) for c in checks]
    frame = spark.createDataFrame(rows, CHECK_SCHEMA)
    merge_days(
        spark,
        table(DATA_QUALITY).path(settings),
        frame,
        ("trade_date", "check_name"),
        [day],
        delete_missing=False,
        skip_unchanged=True,
        what="record ops.data_quality",
    )
