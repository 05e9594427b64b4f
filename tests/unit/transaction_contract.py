"""silver's validation rules for one record, in plain Python, for tests that have no SparkSession.

silver.validate needs Spark; this mirrors its rules (pipeline/silver.py `rules()`) in their order on
the same constants, so a test can say which reason silver would give a record without a JVM. Spark
reads every contract field as text; a JSON number counts as a valid price or volume when Spark's
cast of its text would succeed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from stockstream.market.transactions import ACTIONS, SCHEMA_VERSION
from stockstream.pipeline.silver import (
    EARLIEST_EVENT,
    MAX_PAYLOAD_BYTES,
    MAX_PRICE,
    MAX_VOLUME,
    MIN_PRICE,
    REQUIRED_FIELDS,
    Reason,
)


def silver_reason(value: bytes, known_tickers: Collection[str], now: datetime | None = None) -> Reason | None:
    """The reason silver would quarantine the Kafka value for, or None when it is valid."""
    now = now or datetime.now(UTC)
    if len(value) > MAX_PAYLOAD_BYTES:
        return Reason.OVERSIZED_PAYLOAD
    try:
        record = json.loads(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Reason.UNPARSEABLE_JSON
    if not isinstance(record, dict):
        return Reason.UNPARSEABLE_JSON
    version = record.get("schema_version")
    if version is None:
        return Reason.MISSING_FIELD
    if not isinstance(version, int) or isinstance(version, bool):
        return Reason.WRONG_TYPE
    if version != SCHEMA_VERSION:
        return Reason.UNKNOWN_SCHEMA_VERSION
    for name in REQUIRED_FIELDS:
        if record.get(name) is None:
            return Reason.MISSING_FIELD
        # silver: rlike "^\\s*$" (Java's \s: ASCII whitespace only)
        if name == "txn_id" and re.fullmatch(r"[ \t\n\x0b\f\r]*", str(record[name])):
            return Reason.MISSING_FIELD
    price, volume = record["price"], record["volume"]
    if not isinstance(price, int | float) or isinstance(price, bool) or not math.isfinite(price):
        return Reason.WRONG_TYPE
    if price >= MAX_PRICE or 0 < price < MIN_PRICE:
        return Reason.WRONG_TYPE
    if not isinstance(volume, int) or isinstance(volume, bool) or volume >= MAX_VOLUME:
        return Reason.WRONG_TYPE
    try:
        event_time = datetime.fromisoformat(str(record["timestamp"]))
    except ValueError:
        return Reason.WRONG_TYPE
    if event_time.tzinfo is None:
        event_time = event_time.replace(tzinfo=UTC)
    if price <= 0:
        return Reason.NON_POSITIVE_PRICE
    if volume <= 0:
        return Reason.NON_POSITIVE_VOLUME
    if record["action"] not in ACTIONS:
        return Reason.UNKNOWN_ACTION
    if record["ticker"] not in known_tickers:
        return Reason.UNKNOWN_TICKER
    earliest = datetime.fromisoformat(EARLIEST_EVENT).replace(tzinfo=UTC)
    if not earliest <= event_time <= now + timedelta(days=1):
        return Reason.TIMESTAMP_OUT_OF_RANGE
    return None
