"""Malformed input, reduced: 10,000 generated bad records of every category mixed with 1,300 valid
ones, published to a running stream in 3 chunks; every bad one quarantined once with its reason,
every valid one in silver once, and the job never restarted."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime

from stockstream.chaos import malformed
from stockstream.chaos.lab import Lab

BAD, VALID, VARIANTS = 10_000, 1_000, 300


def quarantined_by_reason(notes: str) -> dict[str, int]:
    """The per-reason counts of the figure's note ('... quarantined by reason: wrong_type 2,340,
    missing_field 1,157; wrong reasons: ...')."""
    found = re.search(r"quarantined by reason: (.*?); wrong reasons", notes)
    assert found is not None, notes
    return {
        reason: int(count.replace(",", ""))
        for reason, count in re.findall(r"([a-z_]+) (\d[\d,]*\d|\d)", found[1])
    }


def test_malformed_records_are_quarantined_with_their_reason_while_the_stream_runs_on(
    lab: Lab, rng: random.Random
) -> None:
    # The same draws the scenario makes, for the generator's own count of each reason.
    replay = random.Random()
    replay.setstate(rng.getstate())
    figure = malformed.run(lab, rng, bad=BAD, valid=VALID, variants=VARIANTS, chunks=3, publish_seconds=6.0)
    assert figure.failures == []
    assert (figure.trials, figure.passed) == (1, 1)
    assert figure.records == BAD + VALID + VARIANTS
    assert (figure.lost, figure.duplicated) == (0, 0)
    (notes,) = figure.notes
    assert "wrong reasons: 0;" in notes
    assert "job restarts: 0;" in notes
    ctx = malformed.Context(malformed.known_tickers(lab.settings), datetime.now(UTC))
    generated = malformed.generate(
        replay, lab.txns, bad=BAD, valid=VALID, variants=VARIANTS, ctx=ctx, prefix="malformed-0-"
    )
    expected = Counter(r.reason.value for r in generated if r.reason is not None)
    assert sum(expected.values()) == BAD
    assert len(expected) == 10, "every reason code"
    assert quarantined_by_reason(notes) == expected
