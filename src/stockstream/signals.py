"""Graceful stops: SIGTERM turned into an exception the running loop already handles."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def sigterm_raises(exception: type[BaseException]) -> Iterator[None]:
    """Within the block SIGTERM raises `exception` (in the main thread), so a long-running loop
    stops as it does on Ctrl-C; the previous handler is back afterwards. Outside the main thread,
    where Python sets no signal handlers, it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_it(signum: int, frame: FrameType | None) -> None:
        raise exception

    previous = signal.signal(signal.SIGTERM, raise_it)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
