"""Keep one command running: restart it with a growing backoff when it fails, stop it on SIGTERM.

Run as `python -m stockstream.services.supervise [--name NAME] [--max-backoff S] -- CMD ARGS...`.
The child's output goes to this process's stdout/stderr (a ManagedProcess sends both to its log).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)


def restart_delay(
    previous: float | None, ran_for: float, *, initial: float, maximum: float, stable_after: float
) -> float:
    """The pause before the next restart: `initial` after the first failure or a long healthy run,
    else double the previous pause, never above `maximum`."""
    if previous is None or ran_for > stable_after:
        return min(initial, maximum)
    return min(previous * 2, maximum)


def describe_exit(code: int) -> str:
    """'exit code 1' or 'exit code -9 (SIGKILL)' for a Popen return code."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"exit code {code} ({signal.Signals(-code).name})"
    return f"exit code {code}"


class Supervisor:
    """Runs argv until it exits 0 or this process is told to stop; restarts it after failures."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str = "child",
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 60.0,
        grace: float = 25.0,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.grace = grace
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def run(self) -> int:
        """Supervise until done; the exit code of the supervisor."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGALRM, self._on_grace_over)
        delay: float | None = None
        while not self.stopping:
            started = time.monotonic()
            try:
                # Its own process group, so what it leaves behind (Spark's JVM) can be swept up.
                self.child = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, process_group=0)  # noqa: S603
            except OSError as exc:
                log.error("cannot start %s: %s", self.name, exc)
                return 127
            log.info("%s started (pid %d): %s", self.name, self.child.pid, shlex.join(self.argv))
            if self.stopping:  # the stop request came while the child was being created
                self._terminate()
            code = self.child.wait()
            signal.setitimer(signal.ITIMER_REAL, 0)  # the child is gone: no SIGKILL due any more
            ran_for = time.monotonic() - started
            self._sweep(self.child.pid)
            self.child = None
            if self.stopping:
                log.info("%s stopped (%s)", self.name, describe_exit(code))
                return 0
            if code == 0:
                log.info("%s finished (exit code 0) after %.1fs", self.name, ran_for)
                return 0
            delay = restart_delay(
                delay, ran_for, initial=self.backoff, maximum=self.max_backoff, stable_after=self.stable_after
            )
            log.warning(
                "%s failed with %s after %.1fs; restarting in %.1fs",
                self.name,
                describe_exit(code),
                ran_for,
                delay,
            )
            self._pause(delay)
        return 0

    def _pause(self, seconds: float) -> None:
        # Short slices: a stop request during the backoff ends it at once (sleep resumes after a signal).
        deadline = time.monotonic() + seconds
        while not self.stopping and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping:
            return
        log.info("%s received, stopping %s", signal.Signals(signum).name, self.name)
        self.stopping = True
        self._terminate()

    def _terminate(self) -> None:
        child = self.child
        if child is None or child.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)
        signal.setitimer(signal.ITIMER_REAL, self.grace)

    def _on_grace_over(self, signum: int, frame: FrameType | None) -> None:
        child = self.child
        if child is not None and child.returncode is None:
            log.warning("%s still running %gs after SIGTERM: killing it", self.name, self.grace)
            self._sweep(child.pid)

    @staticmethod
    def _sweep(group: int) -> None:
        # A crashed driver can leave children behind in its group; they hold memory and ports.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def main(args: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m stockstream.services.supervise",
        description="Run CMD; restart it after a backoff when it fails; SIGTERM stops it.",
    )
    parser.add_argument("--name", default="child", help="Name used in log lines.")
    parser.add_argument("--backoff", type=float, default=1.0, help="First restart delay (s).")
    parser.add_argument("--max-backoff", type=float, default=30.0, help="Longest restart delay (s).")
    parser.add_argument("--grace", type=float, default=25.0, help="Seconds from SIGTERM to SIGKILL.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    parsed = parser.parse_args(args)
    command = parsed.command[1:] if parsed.command[:1] == ["--"] else parsed.command
    if not command:
        parser.error("give the command to supervise after --")
    logging.basicConfig(
        level=logging.INFO,
        format=f"%(asctime)s supervise[{parsed.name}] %(levelname)s %(message)s",
    )
    supervisor = Supervisor(
        command, name=parsed.name, backoff=parsed.backoff, max_backoff=parsed.max_backoff, grace=parsed.grace
    )
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
