"""A small deterministic set of transactions for the walking skeleton and the tests.

The full intraday simulator (from daily bars, per exchange session) replaces this as the
source of `stockstream replay --start/--end`; this stays as the quick self-contained sample.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from stockstream.market.transactions import ACTIONS, Transaction, txn_id

# (ticker, currency, base price): a few listings over several currencies.
SAMPLE_TICKERS: tuple[tuple[str, str, float], ...] = (
    ("AAPL", "USD", 228.0),
    ("MSFT", "USD", 415.0),
    ("NVDA", "USD", 140.0),
    ("SAP", "USD", 235.0),
    ("7203.T", "JPY", 2700.0),
    ("HSBC", "USD", 45.0),
    ("RELIANCE.NS", "INR", 1290.0),
    ("BHP.AX", "AUD", 41.0),
)
_SESSION_OPEN = time(14, 30)  # 09:30 New York in winter, UTC
_SESSION_SECONDS = 6.5 * 3600


def sample_transactions(count: int, day: date, seed: int = 7) -> Iterator[Transaction]:
    """`count` trades on `day` spread over a 6.5 h session, in event-time order; the same
    (count, day, seed) always gives the same trades and txn_ids."""
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(f"{seed}|{day.isoformat()}")  # noqa: S311 - reproducible data, not secrets
    prices = {ticker: base for ticker, _, base in SAMPLE_TICKERS}
    start = datetime.combine(day, _SESSION_OPEN, tzinfo=UTC)
    step = _SESSION_SECONDS / max(count, 1)
    for seq in range(count):
        ticker, currency, _ = SAMPLE_TICKERS[rng.randrange(len(SAMPLE_TICKERS))]
        move = rng.gauss(0.0, 0.0015)
        prices[ticker] = round(prices[ticker] * (1.0 + move), 4)
        timestamp = start + timedelta(microseconds=int(seq * step * 1_000_000))
        yield Transaction(
            txn_id=txn_id(ticker, timestamp, seq),
            ticker=ticker,
            timestamp=timestamp,
            price=prices[ticker],
            volume=rng.randint(1, 50) * 10,
            action=ACTIONS[0] if move >= 0 else ACTIONS[1],
            currency=currency,
        )
