"""The transaction event: the Kafka contract between the replay and the stream."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

SCHEMA_VERSION = 1
ACTIONS = ("BUY", "SELL")


def txn_id(ticker: str, timestamp: datetime, seq: int) -> str:
    """Deterministic id of the seq-th trade of a ticker at an instant: same input, same id, so a
    replayed day adds nothing downstream."""
    key = f"{ticker}|{timestamp.astimezone(UTC).isoformat()}|{seq}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def iso_utc(timestamp: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a Z suffix."""
    return timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True, slots=True)
class Transaction:
    """One trade: the value of a record on the `transactions` topic (key = ticker)."""

    txn_id: str
    ticker: str
    timestamp: datetime
    price: float
    volume: int
    action: str
    currency: str
    schema_version: int = SCHEMA_VERSION

    def to_record(self) -> dict[str, object]:
        return {
            "txn_id": self.txn_id,
            "ticker": self.ticker,
            "timestamp": iso_utc(self.timestamp),
            "price": self.price,
            "volume": self.volume,
            "action": self.action,
            "currency": self.currency,
            "schema_version": self.schema_version,
        }

    def to_json(self) -> bytes:
        return json.dumps(self.to_record(), separators=(",", ":")).encode()
