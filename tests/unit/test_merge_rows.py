"""merge_rows: the delta-rs upsert extract writes reference data with. A Delta table made with
delta-rs here (no JVM): the behaviour under test is delta-rs' own, and what pyarrow then reads."""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

from stockstream import lake
from stockstream.pipeline.writes import merge_rows

SCHEMA = pa.schema(
    [
        pa.field("ticker", pa.string(), nullable=False),
        pa.field("trade_date", pa.date32(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("extracted_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
COLUMNS = SCHEMA.names
MON, TUE, WED = date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18)


def bar(ticker: str, day: date, close: float) -> dict[str, object]:
    return {"ticker": ticker, "trade_date": day, "close": close, "source": "offline"}


@pytest.fixture
def bars(tmp_path: Path) -> Path:
    path = tmp_path / "daily_bars"
    write_deltalake(str(path), SCHEMA.empty_table(), partition_by=["trade_date"])
    return path


def held(path: Path) -> dict[tuple[str, date], dict[str, object]]:
    rows = lake.read_path(path, COLUMNS).to_pylist()
    return {(row["ticker"], row["trade_date"]): row for row in rows}


def upsert(path: Path, rows: list[dict[str, object]]) -> int:
    """merge_rows as extract calls it for reference.daily_bars."""
    return merge_rows(path, rows, ["ticker", "trade_date"], "extracted_at", partition="trade_date")


def string_types(path: Path) -> set[str]:
    """The Arrow types each data file declares for its string columns."""
    found = set()
    for file in glob.glob(str(path / "**" / "*.parquet"), recursive=True):
        schema = pq.read_schema(file)
        found |= {str(schema.field(name).type) for name in ("ticker", "source")}
    return found


def test_inserts_then_changes_only_what_changed(bars: Path) -> None:
    first = [bar("AAPL", MON, 190.0), bar("SAP", MON, 240.0), bar("AAPL", TUE, 191.0)]
    assert upsert(bars, first) == 3
    before = held(bars)
    assert {key: row["close"] for key, row in before.items()} == {
        ("AAPL", MON): 190.0,
        ("SAP", MON): 240.0,
        ("AAPL", TUE): 191.0,
    }
    assert all(row["extracted_at"] <= datetime.now(UTC) for row in before.values())
    version = DeltaTable(str(bars)).version()

    # The same rows again: nothing to write, no commit.
    assert upsert(bars, first) == 0
    assert DeltaTable(str(bars)).version() == version
    tuesday_files = {f for f in DeltaTable(str(bars)).file_uris() if f"trade_date={TUE}" in f}

    # One changed value and one new row: only Monday and Wednesday are rewritten; the unchanged
    # rows keep when they were written, the changed one is restamped.
    second = [bar("AAPL", MON, 190.0), bar("SAP", MON, 242.5), bar("SAP", WED, 244.0)]
    assert upsert(bars, second) == 2
    after = held(bars)
    assert {key: row["close"] for key, row in after.items()} == {
        ("AAPL", MON): 190.0,
        ("SAP", MON): 242.5,
        ("AAPL", TUE): 191.0,
        ("SAP", WED): 244.0,
    }
    assert after[("AAPL", MON)]["extracted_at"] == before[("AAPL", MON)]["extracted_at"]
    assert after[("AAPL", TUE)]["extracted_at"] == before[("AAPL", TUE)]["extracted_at"]
    assert after[("SAP", MON)]["extracted_at"] > before[("SAP", MON)]["extracted_at"]
    assert {f for f in DeltaTable(str(bars)).file_uris() if f"trade_date={TUE}" in f} == tuesday_files


def test_the_written_files_take_a_filtered_pyarrow_read(bars: Path) -> None:
    """delta-rs' MERGE (deltalake 1.6) wrote strings as string_view, and a filtered read of a
    string column then failed in pyarrow ("no kernel matching input types"): the live market's
    read of its start prices did."""
    rows = [bar("AAPL", MON, 190.0), bar("SAP", MON, 240.0), bar("AAPL", TUE, 191.0)]
    upsert(bars, rows)
    upsert(bars, [bar("AAPL", MON, 189.5)])
    assert string_types(bars) == {"string"}
    found = lake.read_path(
        bars, ["ticker", "trade_date", "close"], [("ticker", "in", ["AAPL"]), ("trade_date", "<", WED)]
    )
    assert sorted(found.to_pylist(), key=lambda row: row["trade_date"]) == [
        {"ticker": "AAPL", "trade_date": MON, "close": 189.5},
        {"ticker": "AAPL", "trade_date": TUE, "close": 191.0},
    ]


def test_an_unpartitioned_table_is_rewritten_whole_keeping_absent_keys(tmp_path: Path) -> None:
    path = tmp_path / "dim"
    schema = pa.schema(
        [("ticker", pa.string()), ("name", pa.string()), ("updated_at", pa.timestamp("us", tz="UTC"))]
    )
    write_deltalake(str(path), schema.empty_table())
    merge_rows(
        path,
        [{"ticker": "AAPL", "name": "Apple"}, {"ticker": "SAP", "name": "SAP"}],
        ["ticker"],
        "updated_at",
    )
    assert merge_rows(path, [{"ticker": "SAP", "name": "SAP SE"}], ["ticker"], "updated_at") == 1
    names = {row["ticker"]: row["name"] for row in lake.read_path(path, ["ticker", "name"]).to_pylist()}
    assert names == {"AAPL": "Apple", "SAP": "SAP SE"}


def test_rows_missing_a_column_of_the_table_are_refused(bars: Path) -> None:
    with pytest.raises(ValueError, match="lack the columns source"):
        upsert(bars, [{"ticker": "AAPL", "trade_date": MON, "close": 1.0}])


def test_a_commit_that_lost_a_race_is_retried_from_a_fresh_read(
    bars: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer commits a row to the same day between merge_rows' read and its overwrite:
    delta-rs refuses the stale overwrite, and the retry (retry_conflicts) reads again, so the other
    writer's row is kept: no lost update."""
    import deltalake

    upsert(bars, [bar("AAPL", MON, 190.0)])
    real = deltalake.write_deltalake
    calls: list[int] = []

    def racing(table: object, data: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 1:  # the other writer wins the race once
            other = pa.Table.from_pylist(
                [{**bar("SAP", MON, 240.0), "extracted_at": datetime.now(UTC)}], schema=SCHEMA
            )
            real(str(bars), other, mode="append")
        real(table, data, **kwargs)

    monkeypatch.setattr(deltalake, "write_deltalake", racing)
    upsert(bars, [bar("AAPL", MON, 191.0)])
    assert len(calls) == 2, "the first overwrite conflicted and was retried once"
    assert {key: row["close"] for key, row in held(bars).items()} == {
        ("AAPL", MON): 191.0,
        ("SAP", MON): 240.0,
    }
