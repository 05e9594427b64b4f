"""A small hand-built lakehouse for the dashboard's tests: the analyses' gold fixture of
tests/unit/test_analyses.py (gold.stock_daily with prices), plus 1-minute bars and alerts, written
with delta-rs (no Spark) and partitioned by trade_date as lakehouse/*.sql declares. Every expected
value is worked out here. The two tables' prices need not agree (stock_daily's close is the live
price, the minute bars only feed the chart); MSFT's, which the browser test shows, do."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from stockstream.config import Settings
from stockstream.tables import (
    ALERTS,
    MINUTE_BARS,
    STOCK_DAILY,
    table,
)
from tests.unit.ddl_columns import ddl_columns
from tests.unit.test_analyses import (
    D1,
    D2,
    arrow_type,
    stock_daily,
    table_frames,
    write_table,
)

D0 = date(2026, 10, 2)  # the Friday before D1 (Mon 2026-10-05) and D2 (Tue 2026-10-06)

# (trade_date, ticker) -> bars (hour, minute, open, high, low, close, volume, trades) in UTC; one
# Delta commit (one file) per key. SAP has no bars on D2: its latest day is D1.
BARS: dict[tuple[date, str], list[tuple[int, int, float, float, float, float, int, int]]] = {
    (D1, "AAPL"): [(14, 30, 98.0, 99.5, 97.5, 99.0, 100, 3), (14, 31, 99.0, 99.2, 97.9, 98.0, 50, 2)],
    (D1, "SAP"): [(13, 30, 239.0, 241.0, 238.5, 240.0, 30, 1), (13, 31, 240.0, 241.5, 239.5, 241.0, 20, 1)],
    (D2, "AAPL"): [
        (14, 30, 100.0, 101.5, 99.8, 101.0, 120, 4),
        (14, 31, 101.0, 102.2, 100.9, 102.0, 80, 3),
        (14, 32, 102.0, 102.0, 100.1, 100.5, 60, 2),
    ],
    (D2, "MSFT"): [
        (14, 30, 100.0, 100.5, 99.75, 100.25, 40, 2),
        (14, 31, 100.25, 101.5, 100.0, 101.25, 30, 1),
    ],
}
# AAPL's chart on D2: closes 101.0, 102.0, 100.5 from 14:30 to 14:33 UTC. Its live price is not
# the last close but its gold.stock_daily row (daily_rows: 99.5).

# (alert_id, ticker, pattern, trade_date, event hour, minute, baseline_volume, observed_volume, run_length)
ALERT_ROWS = [
    ("a0", "AAPL", "volume_spike", D0, 15, 0, 10.0, 90, None),  # older than the two latest days
    ("a1", "AAPL", "volume_spike", D1, 14, 40, 20.0, 150, None),
    ("a2", "MSFT", "up_run", D1, 15, 10, None, None, 5),
    ("a3", "SAP", "volume_spike", D2, 13, 45, 12.5, 80, None),
    ("a4", "AAPL", "up_run", D2, 14, 33, None, None, 6),
    ("a5", "7203.T", "volume_spike", D2, 1, 10, 300.0, 2500, None),
]
ALERTS_NEWEST_FIRST = ["a4", "a3", "a5", "a2", "a1"]


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def bar_rows(
    day: date, ticker: str, bars: list[tuple[int, int, float, float, float, float, int, int]]
) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "ticker": ticker,
                "window_start": at(day, hour, minute),
                "window_end": at(day, hour, minute) + timedelta(minutes=1),
                "trade_date": day,
                "open": o,
                "high": h,
                "low": low,
                "close": c,
                "volume": v,
                "trades": n,
            }
            for hour, minute, o, h, low, c, v, n in bars
        ]
    )


def write_records(settings: Settings, name: str, records: list[dict[str, Any]]) -> None:
    """Append rows given as dicts (None stays NULL, unlike in a pandas frame) to a table, typed as
    its DDL declares and partitioned by trade_date."""
    import pyarrow as pa
    from deltalake import write_deltalake

    types = dict(ddl_columns(name))
    columns = [column for column in types if column in records[0]]
    data = {
        column: pa.array([record[column] for record in records], type=arrow_type(types[column], column))
        for column in columns
    }
    write_deltalake(
        str(table(name).path(settings)), pa.table(data), partition_by=["trade_date"], mode="append"
    )


def alert_rows() -> list[dict[str, Any]]:
    return [
        {
            "alert_id": alert_id,
            "ticker": ticker,
            "pattern": pattern,
            "detected_at": at(day, hour, minute) + timedelta(seconds=5),
            "event_time": at(day, hour, minute),
            "trade_date": day,
            "evidence": json.dumps({"pattern": pattern, "ticker": ticker}),
            "baseline_volume": baseline,
            "observed_volume": observed,
            "run_length": run,
        }
        for alert_id, ticker, pattern, day, hour, minute, baseline, observed, run in ALERT_ROWS
    ]


def append_bar(
    settings: Settings, day: date, ticker: str, bar: tuple[int, int, float, float, float, float, int, int]
) -> None:
    """Append one 1-minute bar to gold.minute_bars (a new Delta version), as the stream would."""
    write_table(settings, MINUTE_BARS, bar_rows(day, ticker, [bar]))


CURRENCIES = {"AAPL": "USD", "MSFT": "USD", "SAP": "USD", "6758.T": "JPY", "7203.T": "JPY"}


def daily_rows() -> pd.DataFrame:
    """The analyses' gold.stock_daily rows with prices: open 100, close 100 + growth_pct, high 0.75
    above the higher of the two, low 0.25 below the lower (all exact in binary floating point).

    The live prices of D2 (trade_date, price, high, low, growth_pct, volume, trades, updated_at):
    AAPL 99.5 (100.75, 99.25, -0.5 %, 1,200 in 20, 22:00 UTC), MSFT 101.5 (102.25, 99.75, +1.5 %,
    700 in 10, 21:00), 6758.T 98.0, 7203.T 104.0; SAP's latest row is D1's: 100.5 (+0.5 %)."""
    frame = stock_daily()
    close = 100.0 + frame["growth_pct"]
    return frame.assign(
        open=100.0,
        high=close.clip(lower=100.0) + 0.75,
        low=close.clip(upper=100.0) - 0.25,
        close=close,
        currency=frame["ticker"].map(CURRENCIES),
    )


def append_trade(
    settings: Settings, day: date, ticker: str, close: float, *, shares: int, updated_at: datetime
) -> None:
    """One more (BUY) trade of `ticker` on `day` at price `close`, as the stream's silver query
    leaves it: the ticker's gold.stock_daily row of the day replaced (close, high, low, volume,
    trades, buy_volume, growth_pct, updated_at) or, for its first trade of the day, added; one new
    Delta version.

    The day's partition is rewritten whole (replaceWhere) rather than MERGEd: delta-rs' MERGE and
    DELETE write string columns as Arrow string_view, which pyarrow then cannot compare with the
    string filters of `lake.read`; Spark, the real writer, writes plain strings."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.fs as pa_fs
    from deltalake import DeltaTable, write_deltalake

    path = str(table(STOCK_DAILY).path(settings))
    # Not lake.read: the dashboard's tests count its calls. Arrow's own filesystem, as lake.py does.
    local = pa_fs.SubTreeFileSystem(path, pa_fs.LocalFileSystem())
    partition = (
        DeltaTable(path).to_pyarrow_dataset(filesystem=local).to_table(filter=ds.field("trade_date") == day)
    )
    rows = partition.to_pylist()
    row = next((row for row in rows if row["ticker"] == ticker), None)
    if row is None:
        row = dict.fromkeys(partition.column_names)
        row.update(
            trade_date=day,
            ticker=ticker,
            open=close,
            high=close,
            low=close,
            volume=0,
            trades=0,
            buy_volume=0,
            sell_volume=0,
            currency=CURRENCIES.get(ticker),
        )
        rows.append(row)
    open_ = Decimal(str(row["open"]))
    row.update(
        close=close,
        high=max(row["high"], close),
        low=min(row["low"], close),
        volume=row["volume"] + shares,
        trades=row["trades"] + 1,
        buy_volume=row["buy_volume"] + shares,
        # DECIMAL in this fixture (tests/unit/test_analyses.py: arrow_type).
        growth_pct=((Decimal(str(close)) - open_) / open_ * 100).quantize(Decimal("1e-12")),
        updated_at=updated_at,
    )
    write_deltalake(
        path,
        pa.Table.from_pylist(rows, schema=partition.schema),
        mode="overwrite",
        predicate=f"trade_date = '{day.isoformat()}'",
    )


def build_lakehouse(settings: Settings) -> None:
    """Write the dashboard's fixture into settings' lakehouse."""
    for name, frame in {**table_frames(), STOCK_DAILY: daily_rows()}.items():
        write_table(settings, name, frame)
    write_records(settings, ALERTS, alert_rows())
    for (day, ticker), bars in BARS.items():
        write_table(settings, MINUTE_BARS, bar_rows(day, ticker, bars))
