"""Pattern detection (CEP) over each ticker's trade sequence: stateful, with applyInPandasWithState
on the RocksDB state store.

Patterns:
- `volume_spike`: a trade's volume is at least `spike_factor` times the ticker's baseline volume
  (an exponentially weighted mean over about `baseline_trades` trades, judged once that many
  trades were seen).
- `uptick_run`: `run_length` consecutive up-ticks (each price above the previous trade's), each on
  a volume above the previous trade's.

Detection is live: a trade older than the last one the ticker's state has seen (late, or a
backfilled day) is not judged, so an old day replayed later raises no stale alerts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame
    from pyspark.sql.streaming.state import GroupState

VOLUME_SPIKE = "volume_spike"
UPTICK_RUN = "uptick_run"

INPUT_COLUMNS = ("ticker", "event_time", "txn_id", "price", "volume", "trade_date")
ALERT_SCHEMA = (
    "alert_id string, ticker string, pattern string, detected_at timestamp, event_time timestamp, "
    "trade_date date, evidence string, baseline_volume double, observed_volume bigint, run_length int"
)
STATE_SCHEMA = (
    "last_time_us bigint, last_txn string, last_price double, last_volume bigint, "
    "run_length int, baseline double, seen bigint"
)


@dataclass(frozen=True)
class Params:
    """Detector settings (Settings.alert_*)."""

    baseline_trades: int = 50
    spike_factor: float = 5.0
    run_length: int = 5


@dataclass
class TickerState:
    """What the detector remembers of one ticker between micro-batches."""

    # Event time of the last trade judged, as epoch microseconds (-1: none yet): an integer
    # survives the state store without timezone conversions.
    last_time_us: int = -1
    last_txn: str = ""
    last_price: float = 0.0
    last_volume: int = 0
    run_length: int = 0
    baseline: float = 0.0
    seen: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        return tuple(asdict(self).values())

    @classmethod
    def from_tuple(cls, values: tuple[Any, ...]) -> TickerState:
        return cls(*values)


def alert_id(ticker: str, pattern: str, txn_id: str) -> str:
    """Deterministic: the same occurrence detected again (a retried batch) has the same id."""
    return hashlib.sha256(f"{ticker}|{pattern}|{txn_id}".encode()).hexdigest()[:32]


def scan(
    ticker: str, trades: pd.DataFrame, state: TickerState, params: Params, detected_at: datetime
) -> tuple[list[dict[str, Any]], TickerState]:
    """Judge a ticker's new trades in event-time order; returns the alerts and the new state."""
    alerts: list[dict[str, Any]] = []
    alpha = 2.0 / (params.baseline_trades + 1)
    ordered = trades.sort_values(["event_time", "txn_id"], kind="mergesort")
    for row in ordered.itertuples(index=False):
        time_us = int(pd.Timestamp(row.event_time).value // 1000)
        if (time_us, row.txn_id) <= (state.last_time_us, state.last_txn):
            continue  # late or replayed: already past this point of the sequence
        volume = int(row.volume)
        price = float(row.price)

        def emit(pattern: str, evidence: dict[str, Any], row: Any = row, **typed: Any) -> None:
            alerts.append(
                {
                    "alert_id": alert_id(ticker, pattern, row.txn_id),
                    "ticker": ticker,
                    "pattern": pattern,
                    "detected_at": detected_at,
                    "event_time": pd.Timestamp(row.event_time).to_pydatetime(),
                    "trade_date": row.trade_date,
                    "evidence": json.dumps(evidence, sort_keys=True),
                    "baseline_volume": typed.get("baseline_volume"),
                    "observed_volume": typed.get("observed_volume"),
                    "run_length": typed.get("run_length"),
                }
            )

        if state.seen >= params.baseline_trades and volume >= params.spike_factor * state.baseline:
            emit(
                VOLUME_SPIKE,
                {
                    "txn_id": row.txn_id,
                    "price": price,
                    "volume": volume,
                    "baseline_volume": round(state.baseline, 6),
                    "ratio": round(volume / state.baseline, 6),
                    "spike_factor": params.spike_factor,
                    "baseline_trades": params.baseline_trades,
                },
                baseline_volume=state.baseline,
                observed_volume=volume,
            )
        rising = state.seen > 0 and price > state.last_price and volume > state.last_volume
        state.run_length = state.run_length + 1 if rising else 0
        if state.run_length == params.run_length:
            emit(
                UPTICK_RUN,
                {
                    "txn_id": row.txn_id,
                    "price": price,
                    "volume": volume,
                    "run_length": state.run_length,
                    "previous_price": state.last_price,
                    "previous_volume": state.last_volume,
                },
                observed_volume=volume,
                run_length=state.run_length,
            )
        state.baseline = (
            float(volume) if state.seen == 0 else state.baseline + alpha * (volume - state.baseline)
        )
        state.seen += 1
        state.last_time_us, state.last_txn = time_us, row.txn_id
        state.last_price, state.last_volume = price, volume
    return alerts, state


def detector(params: Params):  # type: ignore[no-untyped-def]
    """The applyInPandasWithState function: one ticker's new trades and state -> its alerts."""

    def detect(
        key: tuple[Any, ...], batches: Iterator[pd.DataFrame], group_state: GroupState
    ) -> Iterator[pd.DataFrame]:
        (ticker,) = key
        state = TickerState.from_tuple(group_state.get) if group_state.exists else TickerState()
        trades = pd.concat(list(batches), ignore_index=True)
        # Spark's session time zone is UTC: naive timestamps are UTC.
        now = datetime.now(UTC).replace(tzinfo=None)
        alerts, state = scan(ticker, trades, state, params, now)
        group_state.update(state.as_tuple())
        columns = [field.split()[0] for field in ALERT_SCHEMA.split(", ")]
        frame = pd.DataFrame(alerts, columns=columns)
        # Nullable integer columns: a None among ints must not turn the column into floats.
        yield frame.astype({"observed_volume": "Int64", "run_length": "Int32"})

    return detect


def detect_alerts(silver: DataFrame, params: Params) -> DataFrame:
    """silver rows (a stream) -> gold.alerts rows, per ticker, with state kept between batches."""
    from pyspark.sql.streaming.state import GroupStateTimeout

    return (
        silver.select(*INPUT_COLUMNS)
        .groupBy("ticker")
        .applyInPandasWithState(
            detector(params), ALERT_SCHEMA, STATE_SCHEMA, "append", GroupStateTimeout.NoTimeout
        )
    )
