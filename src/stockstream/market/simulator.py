"""The intraday simulator: one daily bar -> that day's transactions inside the exchange session.

Deterministic: the random stream is seeded by (ticker, trade_date) only, so replaying a day
produces the same trades and txn_ids and adds nothing downstream. Vectorised with numpy.

Guarantees, for a valid bar (low <= open, close <= high; low > 0; volume > 0):
- n = min(V, max(trades, needed)) trades, V = max(1, round(volume * volume_scale)) and `needed`
  (1 to 4) the fewest trades that can show open, high, low and close; if V < needed the bar cannot
  be honoured with volumes >= 1, and a ValueError says so (never a silent fallback);
- timestamps strictly increasing at millisecond resolution, UTC, the first at the session open,
  all within [open, close] of the session on trade_date in the exchange's timezone (a session
  edge inside a DST gap, e.g. 02:30 New York on 2026-03-08, is resolved by zoneinfo with fold=0;
  no real exchange session has one);
- prices: first == open, last == close, all within [low, high], high and low each hit exactly;
- volumes: ints >= 1 summing exactly to V;
- actions: the first follows the day (close >= open -> BUY), then up-ticks lean BUY and
  down-ticks lean SELL.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from stockstream.market.model import DailyBar, Session
from stockstream.market.transactions import ACTIONS, Transaction, txn_id

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Beta(a, a) with a < 1 puts more trades near the open and the close: the intraday U-shape.
_U_SHAPE = 0.6
# Bridge volatility as a share of the day's range; the path is rescaled to [low, high] anyway,
# this only sets how much of the day is spent away from the open-close segment.
_BRIDGE_SIGMA = 0.5
# Lognormal spread of trade sizes: a few large prints, many small ones.
SIZE_SIGMA = 1.0
# Slope of P(BUY) against the tick's return in units of the day's tick volatility.
_ACTION_SLOPE = 1.5


def seed_of(ticker: str, trade_date: date) -> int:
    """The random seed of a (ticker, trade_date): a sha256 digest, stable across processes."""
    digest = hashlib.sha256(f"{ticker}|{trade_date.isoformat()}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def needed_trades(bar: DailyBar) -> int:
    """The fewest trades whose prices can show the bar's open, high, low and close."""
    extra_high = bar.high > max(bar.open, bar.close)
    extra_low = bar.low < min(bar.open, bar.close)
    if bar.open == bar.close and not extra_high and not extra_low:
        return 1
    return 2 + int(extra_high) + int(extra_low)


def scaled_volume(bar: DailyBar, volume_scale: float) -> int:
    """The shares the simulated day adds up to: the bar's volume scaled, at least 1."""
    return max(1, round(bar.volume * volume_scale))


def trade_count(bar: DailyBar, trades: int, volume_scale: float) -> int:
    """How many trades simulate_day() makes of a valid bar: min(V, max(trades, needed_trades))."""
    return min(scaled_volume(bar, volume_scale), max(trades, needed_trades(bar)))


def price_decimals(price: float) -> int:
    """Decimals of the price tick at a price level: about 6 significant digits, at least 4."""
    return max(4, 5 - math.floor(math.log10(price)))


def buy_probability(scaled: FloatArray) -> FloatArray:
    """P(BUY) of trades whose price moved by `scaled` tick volatilities: 0.5 when flat, leaning
    BUY on up-ticks and SELL on down-ticks."""
    return 1.0 / (1.0 + np.exp(-_ACTION_SLOPE * scaled))


def validate_bar(bar: DailyBar) -> None:
    """Raise ValueError unless the bar is a consistent, positive OHLCV row."""
    where = f"{bar.ticker} {bar.trade_date.isoformat()}"
    prices = {"open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close}
    for name, value in prices.items():
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{where}: {name} must be a finite price > 0, got {value!r}")
    if bar.low > min(bar.open, bar.close):
        raise ValueError(f"{where}: low {bar.low} is above min(open, close) {min(bar.open, bar.close)}")
    if bar.high < max(bar.open, bar.close):
        raise ValueError(f"{where}: high {bar.high} is below max(open, close) {max(bar.open, bar.close)}")
    if bar.volume <= 0:
        raise ValueError(f"{where}: volume must be > 0 to simulate trades, got {bar.volume}")


def _session_ms(bar: DailyBar, session: Session) -> tuple[int, int]:
    """The session of the bar's day as [open, close] in epoch milliseconds (UTC)."""
    zone = ZoneInfo(session.timezone)
    opens = datetime.combine(bar.trade_date, session.open, tzinfo=zone)
    closes = datetime.combine(bar.trade_date, session.close, tzinfo=zone)
    # Round inwards so that every millisecond instant stays inside the session.
    open_ms = -((_EPOCH - opens) // _MS)
    close_ms = (closes - _EPOCH) // _MS
    if close_ms <= open_ms:
        raise ValueError(
            f"{bar.ticker} {bar.trade_date.isoformat()}: session {session.open}-{session.close} "
            f"{session.timezone} is empty"
        )
    return open_ms, close_ms


def _offsets(rng: np.random.Generator, n: int, span: int) -> IntArray:
    """n strictly increasing millisecond offsets in [0, span], the first at 0, U-shaped."""
    raw = np.empty(n, dtype=np.int64)
    raw[0] = 0
    raw[1:] = np.sort(np.floor(rng.beta(_U_SHAPE, _U_SHAPE, n - 1) * span).astype(np.int64))
    seq = np.arange(n, dtype=np.int64)
    # Cap the i-th offset so the remaining n-1-i trades still fit before the close, then push
    # ties apart: t_i = i + max_{j<=i}(t_j - j) is the smallest strictly increasing sequence >= t,
    # and the cap keeps it <= span.
    capped = np.minimum(raw, span - (n - 1 - seq))
    return np.maximum.accumulate(capped - seq) + seq


def _fold(values: FloatArray, lo: float, hi: float) -> FloatArray:
    """Reflect values back and forth into [lo, hi] (a triangle wave), keeping the path's shape."""
    width = hi - lo
    shifted = np.mod(values - lo, 2.0 * width)
    return lo + np.where(shifted > width, 2.0 * width - shifted, shifted)


def _bridge(rng: np.random.Generator, bar: DailyBar, offsets: IntArray) -> FloatArray:
    """An open-to-close Brownian bridge over n >= 2 trade times, its excursions stretched onto high/low."""
    top, bottom = max(bar.open, bar.close), min(bar.open, bar.close)
    room_up, room_down = bar.high > top, bar.low < bottom
    times = offsets / offsets[-1]
    steps = rng.standard_normal(len(offsets) - 1) * np.sqrt(np.diff(times))
    walk = np.concatenate(([0.0], np.cumsum(steps)))
    bridge = walk - times * walk[-1]
    path: FloatArray = (
        bar.open + (bar.close - bar.open) * times + _BRIDGE_SIGMA * (bar.high - bar.low) * bridge
    )
    # Where the bar leaves no room beyond open/close, the path is reflected back rather than
    # clipped, so it does not sit flat on that level for long stretches.
    if not room_up and not room_down:
        path = _fold(path, bottom, top)
    elif not room_down:
        path = np.where(path < bottom, 2.0 * bottom - path, path)
    elif not room_up:
        path = np.where(path > top, 2.0 * top - path, path)
    peak, trough = float(path.max()), float(path.min())
    if room_up and peak > top:
        path = np.where(path > top, top + (path - top) * ((bar.high - top) / (peak - top)), path)
    if room_down and trough < bottom:
        path = np.where(
            path < bottom, bottom - (bottom - path) * ((bottom - bar.low) / (bottom - trough)), path
        )
    return path


def _prices(rng: np.random.Generator, bar: DailyBar, offsets: IntArray) -> FloatArray:
    """Trade prices: first == open, last == close, all in [low, high], high and low hit exactly."""
    if bar.high == bar.low:  # also every one-trade day: needed_trades() is 1 only for a flat bar
        return np.full(len(offsets), bar.open)
    path = _bridge(rng, bar, offsets)
    # The interior trades nearest the extremes take them exactly; when the path never left
    # [min(open, close), max(open, close)] that is a jump, which a bar with n >= needed allows.
    interior = path[1:-1]
    high_at = 1 + int(np.argmax(interior)) if bar.high > max(bar.open, bar.close) else -1
    low_at = -1
    if bar.low < min(bar.open, bar.close):
        masked = interior.copy()
        if high_at > 0:
            masked[high_at - 1] = np.inf  # the high's trade cannot also be the low's
        low_at = 1 + int(np.argmin(masked))
    # A tick of about 6 significant digits (4 decimals from 1.0 up), unless the day's range is
    # under 100 ticks, where rounding would pin most trades to high or low. Clipping after
    # rounding keeps every price in [low, high]; the exact levels are assigned last.
    decimals = price_decimals(bar.high)
    if bar.high - bar.low >= 100 * 10.0**-decimals:
        path = np.round(path, decimals)
    path = np.clip(path, bar.low, bar.high)
    if high_at > 0:
        path[high_at] = bar.high
    if low_at > 0:
        path[low_at] = bar.low
    path[0] = bar.open
    path[-1] = bar.close
    return path


def _volumes(rng: np.random.Generator, n: int, total: int) -> IntArray:
    """n positive trade sizes summing exactly to total: one share each, the rest multinomial."""
    weights = rng.lognormal(0.0, SIZE_SIGMA, n)
    return 1 + rng.multinomial(total - n, weights / weights.sum()).astype(np.int64)


def _buys(rng: np.random.Generator, bar: DailyBar, prices: FloatArray) -> npt.NDArray[np.bool_]:
    """Whether each trade is a BUY: the first follows the day, then P(BUY) rises with the tick."""
    draws = rng.random(len(prices))
    returns = np.diff(prices) / prices[:-1]
    moving = returns[returns != 0.0]
    scale = float(np.std(moving)) if len(moving) > 1 else 0.0
    scaled = returns / scale if scale > 0 else np.sign(returns)
    p_buy = buy_probability(scaled)
    first = np.array([bar.close >= bar.open])
    return np.concatenate((first, draws[1:] < p_buy))


def simulate_day(
    bar: DailyBar, session: Session, currency: str, trades: int = 400, volume_scale: float = 1.0
) -> list[Transaction]:
    """One (ticker, day) bar's intraday transactions in event-time order (see the module docstring)."""
    validate_bar(bar)
    if trades < 1:
        raise ValueError(f"trades must be >= 1, got {trades}")
    if not math.isfinite(volume_scale) or volume_scale <= 0:
        raise ValueError(f"volume_scale must be a finite number > 0, got {volume_scale!r}")
    total = scaled_volume(bar, volume_scale)
    needed = needed_trades(bar)
    if total < needed:
        raise ValueError(
            f"{bar.ticker} {bar.trade_date.isoformat()}: the scaled volume {total} (volume {bar.volume} "
            f"x {volume_scale}) is too small for the {needed} trades needed to hit open, high, low and "
            "close with at least one share each; raise the volume scale"
        )
    n = trade_count(bar, trades, volume_scale)
    open_ms, close_ms = _session_ms(bar, session)
    if close_ms - open_ms + 1 < n:
        raise ValueError(
            f"{bar.ticker} {bar.trade_date.isoformat()}: {n} trades do not fit in the session "
            f"{session.open}-{session.close} at millisecond resolution"
        )

    # Seeded by (ticker, trade_date) only: the same input gives the same trades and txn_ids.
    rng = np.random.default_rng(seed_of(bar.ticker, bar.trade_date))
    offsets = _offsets(rng, n, close_ms - open_ms)
    prices = _prices(rng, bar, offsets)
    volumes = _volumes(rng, n, total)
    buys = _buys(rng, bar, prices)

    start = _EPOCH + timedelta(milliseconds=open_ms)
    buy, sell = ACTIONS
    out: list[Transaction] = []
    for seq, (offset, price, volume, is_buy) in enumerate(
        zip(offsets.tolist(), prices.tolist(), volumes.tolist(), buys.tolist(), strict=True)
    ):
        timestamp = start + timedelta(milliseconds=offset)
        out.append(
            Transaction(
                txn_id=txn_id(bar.ticker, timestamp, seq),
                ticker=bar.ticker,
                timestamp=timestamp,
                price=price,
                volume=volume,
                action=buy if is_buy else sell,
                currency=currency,
            )
        )
    return out
