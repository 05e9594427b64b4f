"""sigterm_raises: SIGTERM as an exception for the length of a block."""

from __future__ import annotations

import os
import signal

import pytest

from stockstream.signals import sigterm_raises


class Stop(Exception):
    pass


def test_sigterm_raises_inside_the_block_and_the_old_handler_comes_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Stop), sigterm_raises(Stop):
        # Python runs the handler right after the kill returns, before the next line.
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not raise")
    assert signal.getsignal(signal.SIGTERM) is before
