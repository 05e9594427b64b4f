from __future__ import annotations

from datetime import date

import pytest

from stockstream.broker.replay import DayOffsets, ReplayReport
from stockstream.market.day_replay import complete_days_only, merge_reports

pytestmark = pytest.mark.unit

D1, D2, D3 = date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20)


def day(partition_offsets: dict[int, tuple[int, int, int]]) -> DayOffsets:
    """partition -> (start, end, count)."""
    return DayOffsets(
        records=sum(count for _, _, count in partition_offsets.values()),
        start_offsets={p: s for p, (s, _, _) in partition_offsets.items()},
        end_offsets={p: e for p, (_, e, _) in partition_offsets.items()},
        counts={p: c for p, (_, _, c) in partition_offsets.items()},
    )


def test_merge_takes_the_outer_offsets_and_adds_the_counts() -> None:
    a = ReplayReport("t", sent=5, start_offsets={0: 0}, end_offsets={0: 5}, days={D1: day({0: (0, 5, 5)})})
    b = ReplayReport(
        "t",
        sent=7,
        start_offsets={0: 5, 1: 0},
        end_offsets={0: 9, 1: 3},
        days={D1: day({0: (5, 9, 4), 1: (0, 3, 3)})},
    )
    merged = merge_reports([a, b])
    assert merged.sent == 12
    assert merged.start_offsets == {0: 0, 1: 0} and merged.end_offsets == {0: 9, 1: 3}
    assert merged.days[D1] == day({0: (0, 9, 9), 1: (0, 3, 3)})
    assert not merged.interrupted and merged.cutoff is None


def test_after_an_interruption_only_days_every_producer_finished_are_kept() -> None:
    fast = ReplayReport(
        "t", sent=3, days={D1: day({0: (0, 1, 1)}), D2: day({0: (1, 2, 1)}), D3: day({0: (2, 3, 1)})}
    )
    slow = ReplayReport(
        "t", sent=2, days={D1: day({1: (0, 1, 1)}), D2: day({1: (1, 2, 1)})}, interrupted=True
    )
    merged = merge_reports([fast, slow])
    complete_days_only(merged)
    assert sorted(merged.days) == [D1], "the slow producer was still sending D2"


def test_one_interrupted_producer_loses_its_last_day() -> None:
    report = ReplayReport(
        "t", sent=2, days={D1: day({0: (0, 1, 1)}), D2: day({0: (1, 2, 1)})}, interrupted=True
    )
    complete_days_only(report)
    assert sorted(report.days) == [D1]
    finished = ReplayReport("t", sent=1, days={D1: day({0: (0, 1, 1)})})
    complete_days_only(finished)
    assert sorted(finished.days) == [D1]
