"""The alert detector's scan on small pandas frames, with small parameters worked out by hand."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from stockstream.pipeline.alerts import (
    UPTICK_RUN,
    VOLUME_SPIKE,
    Params,
    TickerState,
    alert_id,
    scan,
)

pytestmark = pytest.mark.unit

# alpha = 2 / (3 + 1) = 0.5: baseline_n = baseline_(n-1) + (volume_n - baseline_(n-1)) / 2
PARAMS = Params(baseline_trades=3, spike_factor=2.0, run_length=3)
START = datetime(2026, 10, 6, 14, 30)
DAY = date(2026, 10, 6)
DETECTED = datetime(2026, 10, 6, 14, 45)


def trades(prices: Sequence[float], volumes: Sequence[int], first: int = 0) -> pd.DataFrame:
    """Trade i at START + i seconds with txn_id t<i> (zero-padded so ids sort like times)."""
    n = range(first, first + len(prices))
    return pd.DataFrame(
        {
            "event_time": [START + timedelta(seconds=i) for i in n],
            "txn_id": [f"t{i:03d}" for i in n],
            "price": [float(p) for p in prices],
            "volume": list(volumes),
            "trade_date": [DAY] * len(prices),
        }
    )


def run(frame: pd.DataFrame, state: TickerState | None = None) -> tuple[list[dict[str, Any]], TickerState]:
    return scan("AAPL", frame, state or TickerState(), PARAMS, DETECTED)


def test_baseline_is_the_ewma_of_the_volumes() -> None:
    # 10 -> 10 + (100 - 10)/2 = 55 -> 55 + (100 - 55)/2 = 77.5 -> 77.5 + (40 - 77.5)/2 = 58.75
    _, state = run(trades([10, 10, 10, 10], [10, 100, 100, 40]))
    assert state == TickerState(
        last_time_us=int(pd.Timestamp(START + timedelta(seconds=3)).value // 1000),
        last_txn="t003",
        last_price=10.0,
        last_volume=40,
        run_length=0,
        baseline=58.75,
        seen=4,
    )


def test_no_spike_before_baseline_trades_were_seen() -> None:
    # Trades 2 and 3 are 10x the baseline, but only 1 and 2 trades were seen before them.
    alerts, _ = run(trades([10, 10, 10], [10, 100, 100]))
    assert alerts == []


def test_spike_exactly_at_the_factor_fires_with_its_evidence() -> None:
    # baseline after 10, 100, 100 is 77.5: 155 = 2.0 * 77.5
    alerts, _ = run(trades([10, 10, 10, 10], [10, 100, 100, 155]))
    assert alerts == [
        {
            "alert_id": hashlib.sha256(b"AAPL|volume_spike|t003").hexdigest()[:32],
            "ticker": "AAPL",
            "pattern": VOLUME_SPIKE,
            "detected_at": DETECTED,
            "event_time": START + timedelta(seconds=3),
            "trade_date": DAY,
            "evidence": json.dumps(
                {
                    "baseline_trades": 3,
                    "baseline_volume": 77.5,
                    "price": 10.0,
                    "ratio": 2.0,
                    "spike_factor": 2.0,
                    "txn_id": "t003",
                    "volume": 155,
                },
                sort_keys=True,
            ),
            "baseline_volume": 77.5,
            "observed_volume": 155,
            "run_length": None,
        }
    ]


def test_spike_just_below_the_factor_does_not_fire() -> None:
    alerts, _ = run(trades([10, 10, 10, 10], [10, 100, 100, 154]))
    assert alerts == []


def test_alert_id_is_deterministic() -> None:
    assert (
        alert_id("AAPL", VOLUME_SPIKE, "t003") == hashlib.sha256(b"AAPL|volume_spike|t003").hexdigest()[:32]
    )
    assert alert_id("AAPL", VOLUME_SPIKE, "t003") != alert_id("AAPL", UPTICK_RUN, "t003")
    first, _ = run(trades([10, 10, 10, 10], [10, 100, 100, 155]))
    again, _ = run(trades([10, 10, 10, 10], [10, 100, 100, 155]))
    assert [a["alert_id"] for a in first] == [a["alert_id"] for a in again]


def test_uptick_run_of_exactly_run_length_fires_with_its_evidence() -> None:
    # t000 is no up-tick (nothing before it); t001..t003 are three up-ticks on rising volume.
    alerts, state = run(trades([10, 11, 12, 13], [10, 11, 12, 13]))
    assert alerts == [
        {
            "alert_id": hashlib.sha256(b"AAPL|uptick_run|t003").hexdigest()[:32],
            "ticker": "AAPL",
            "pattern": UPTICK_RUN,
            "detected_at": DETECTED,
            "event_time": START + timedelta(seconds=3),
            "trade_date": DAY,
            "evidence": json.dumps(
                {
                    "previous_price": 12.0,
                    "previous_volume": 12,
                    "price": 13.0,
                    "run_length": 3,
                    "txn_id": "t003",
                    "volume": 13,
                },
                sort_keys=True,
            ),
            "baseline_volume": None,
            "observed_volume": 13,
            "run_length": 3,
        }
    ]
    assert state.run_length == 3


@pytest.mark.parametrize(
    ("prices", "volumes", "expected"),
    [
        pytest.param([10, 11, 12], [10, 11, 12], [], id="two-upticks-are-not-enough"),
        pytest.param([10, 11, 12, 13, 14, 15], [10, 11, 12, 13, 14, 15], ["t003"], id="fires-once-not-again"),
        pytest.param([10, 11, 11, 12, 13], [10, 11, 12, 13, 14], [], id="flat-price-resets"),
        pytest.param(
            [10, 11, 11, 12, 13, 14], [10, 11, 12, 13, 14, 15], ["t005"], id="count-restarts-after-flat"
        ),
        pytest.param([10, 11, 12, 11, 12, 13], [10, 11, 12, 13, 14, 15], [], id="falling-price-resets"),
        pytest.param([10, 11, 12, 13, 14], [10, 11, 11, 12, 13], [], id="equal-volume-resets"),
        pytest.param([10, 11, 12, 13, 14], [10, 11, 10, 12, 13], [], id="falling-volume-resets"),
        pytest.param(
            [10, 11, 12, 13, 12, 13, 14, 15],
            [10, 11, 12, 13, 14, 15, 16, 17],
            ["t003", "t007"],
            id="a-new-run-fires-again",
        ),
    ],
)
def test_uptick_runs(prices: list[float], volumes: list[int], expected: list[str]) -> None:
    alerts, _ = run(trades(prices, volumes))
    assert [(a["pattern"], json.loads(a["evidence"])["txn_id"]) for a in alerts] == [
        (UPTICK_RUN, txn) for txn in expected
    ]


def test_trades_are_judged_in_event_time_order() -> None:
    ordered = trades([10, 11, 12, 13], [10, 11, 12, 13])
    alerts, state = run(ordered.iloc[[3, 1, 0, 2]])
    expected_alerts, expected_state = run(ordered)
    assert alerts == expected_alerts
    assert state == expected_state


# Both patterns in one sequence: an up-tick run completed by t003, a volume spike at t006.
SEQUENCE = trades([10, 11, 12, 13, 13, 13, 13, 14], [10, 11, 12, 13, 12, 12, 30, 31])


def test_sequence_raises_both_patterns() -> None:
    # baselines: 10, 10.5, 11.25, 12.125, 12.0625, 12.03125 -> 30 >= 24.0625 at t006;
    # then 21.015625 -> 31 < 42.03125 at t007
    alerts, _ = run(SEQUENCE)
    assert [(a["pattern"], json.loads(a["evidence"])["txn_id"]) for a in alerts] == [
        (UPTICK_RUN, "t003"),
        (VOLUME_SPIKE, "t006"),
    ]
    assert alerts[1]["baseline_volume"] == 12.03125


@pytest.mark.parametrize("split", range(1, len(SEQUENCE)))
def test_state_carried_across_calls_gives_the_same_alerts_as_one_call(split: int) -> None:
    whole_alerts, whole_state = run(SEQUENCE)
    first_alerts, state = run(SEQUENCE.iloc[:split])
    second_alerts, state = run(SEQUENCE.iloc[split:], state)
    assert first_alerts + second_alerts == whole_alerts
    assert state == whole_state


def test_trades_not_after_the_states_last_one_are_skipped() -> None:
    _, state = run(SEQUENCE.iloc[:4])  # t000..t003
    before = TickerState(**vars(state))
    # t002 again (a replay), an older trade, and one at t003's instant with a smaller txn_id
    late = pd.DataFrame(
        {
            "event_time": [
                START + timedelta(seconds=2),
                START + timedelta(seconds=1, milliseconds=500),
                START + timedelta(seconds=3),
            ],
            "txn_id": ["t002", "t001b", "t002z"],
            "price": [99.0, 99.0, 99.0],
            "volume": [1000, 1000, 1000],
            "trade_date": [DAY] * 3,
        }
    )
    alerts, after = run(late, state)
    assert alerts == []
    assert after == before
    # The same instant with a larger txn_id is new: judged (1000 >= 2 * 12.125 -> a spike).
    tie = late.iloc[[2]].assign(txn_id="t003z")
    alerts, after = run(tie, state)
    assert [(a["pattern"], a["observed_volume"]) for a in alerts] == [(VOLUME_SPIKE, 1000)]
    assert (after.seen, after.last_txn) == (5, "t003z")
