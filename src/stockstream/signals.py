"""Graceful stops: SIGTERM turned into an exception the running loop already handles, or SIGTERM and
Ctrl-C into a stop request a loop polls (the streaming job, whose main thread sits in Py4J calls)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


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


Handler = Callable[[int, FrameType | None], Any] | int | None


class StopRequest:
    """SIGTERM and Ctrl-C (SIGINT) as a request to stop that a long-running loop polls.

    Nothing is raised wherever the main thread happens to be (as sigterm_raises does): inside a
    Py4J call (a Spark action, awaitTermination) an exception breaks the call and comes out as a
    Py4JError. The first signal sets `requested`; a second one sets `hurried` (stop at once) and
    gives the signals their previous handlers back, so a third acts as it did before (Ctrl-C raises
    KeyboardInterrupt, SIGTERM ends the process). Outside the main thread, where Python sets no
    signal handlers, it listens to nothing."""

    def __init__(self, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
        self.signals = signals
        self.received: list[str] = []
        """Names of the signals received, in order."""
        self._previous: dict[signal.Signals, Handler] = {}

    @property
    def requested(self) -> bool:
        return bool(self.received)

    @property
    def hurried(self) -> bool:
        return len(self.received) > 1

    def listen(self) -> None:
        """Install the handlers, again if need be: creating a SparkContext installs PySpark's own
        SIGINT handler (cancel every Spark job at once), which this takes over, and gives back on
        restore()."""
        if threading.current_thread() is not threading.main_thread() or self.hurried:
            return
        for sig in self.signals:
            previous = signal.signal(sig, self._on_signal)
            if previous != self._on_signal:
                self._previous[sig] = previous

    def restore(self) -> None:
        """Put the handlers found by listen() back."""
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)
        if self.hurried:
            self.restore()

    def __enter__(self) -> StopRequest:
        self.listen()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
