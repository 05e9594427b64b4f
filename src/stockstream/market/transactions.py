"""The transaction event: the Kafka contract between the replay and the stream."""

from __future__ import annotations

import hashlib
import json
import math
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


_QUOTED: dict[str, str] = {}
_QUOTED_MAX = 4096  # tickers, currencies and actions: a few hundred distinct values


def _quoted(text: str) -> str:
    """`text` as a JSON string (ASCII, as json.dumps writes it), remembered: few distinct values."""
    quoted = _QUOTED.get(text)
    if quoted is None:
        quoted = json.dumps(text)
        if len(_QUOTED) < _QUOTED_MAX:
            _QUOTED[text] = quoted
    return quoted


def _quoted_id(text: str) -> str:
    """A txn_id as a JSON string: hex digits need no escaping, anything else goes to json.dumps."""
    if text.isascii() and text.isalnum():
        return f'"{text}"'
    return json.dumps(text)


def _timestamp(moment: datetime) -> str:
    """iso_utc(moment): isoformat truncates to milliseconds as iso_utc's %f[:-3] does."""
    if moment.tzinfo is UTC and moment.year >= 1000:  # strftime does not zero-pad years < 1000
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return iso_utc(moment)


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
        """The record value: json.dumps of to_record() (compact), byte for byte, written without
        the dict (the replay encodes every record; tests/unit/test_replay_encoding.py compares
        them). Floats as float.__repr__ (what json.dumps writes); whatever the fast path does not
        cover (a price that is not a finite float, a timestamp not in UTC, ...) goes through
        json.dumps itself."""
        price, volume, version = self.price, self.volume, self.schema_version
        if (
            type(price) is not float
            or not math.isfinite(price)
            or type(volume) is not int
            or type(version) is not int
        ):
            return json.dumps(self.to_record(), separators=(",", ":")).encode()
        return (
            f'{{"txn_id":{_quoted_id(self.txn_id)},"ticker":{_quoted(self.ticker)},'
            f'"timestamp":"{_timestamp(self.timestamp)}","price":{float.__repr__(price)},"volume":{volume},'
            f'"action":{_quoted(self.action)},"currency":{_quoted(self.currency)},"schema_version":{version}}}'
        ).encode()
