"""The supervisor with real child processes: restarts after failures and kills, clean stops."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from stockstream.services.process import tail, wait_until
from stockstream.services.supervise import describe_exit, restart_delay

pytestmark = pytest.mark.unit

# Each run of the child counts itself in FOLDER/runs; what it does next depends on the count.
CHILD = """
import os, pathlib, signal, subprocess, sys
folder = pathlib.Path(sys.argv[1])
runs = folder / "runs"
count = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(count))
mode = sys.argv[2]
if mode == "fail-once":
    sys.exit(1 if count == 1 else 0)
if mode == "always-fail":
    sys.exit(1)
if mode == "ignore-sigterm":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
if count == 1 or mode != "hang-once":
    grandchild = subprocess.Popen([sys.executable, "-c", "import signal; signal.pause()"])
    (folder / "grandchild.pid").write_text(str(grandchild.pid))
    (folder / "child.pid.tmp").write_text(str(os.getpid()))
    (folder / "child.pid.tmp").replace(folder / "child.pid")
    signal.pause()
"""


Supervise = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Supervise]:
    """Starts the supervisor on CHILD; whatever a failing test leaves running is killed after it."""
    started: list[subprocess.Popen[bytes]] = []

    def start(mode: str, *options: str) -> subprocess.Popen[bytes]:
        started.append(run_supervisor(tmp_path, mode, *options))
        return started[-1]

    yield start
    leftovers: list[psutil.Process] = []
    for supervisor in started:
        with contextlib.suppress(psutil.NoSuchProcess):
            root = psutil.Process(supervisor.pid)
            leftovers += [root, *root.children(recursive=True)]
    for name in ("child.pid", "grandchild.pid"):
        path = tmp_path / name
        with contextlib.suppress(psutil.NoSuchProcess, ValueError, FileNotFoundError):
            process = psutil.Process(int(path.read_text()))
            if "signal" in " ".join(process.cmdline()):  # ours, not a recycled pid
                leftovers.append(process)
    for process in leftovers:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    for supervisor in started:
        with contextlib.suppress(subprocess.TimeoutExpired):
            supervisor.wait(timeout=5)


def run_supervisor(folder: Path, mode: str, *options: str) -> subprocess.Popen[bytes]:
    """The supervisor running CHILD in the given mode; its output (and the child's) in folder/log."""
    with (folder / "log").open("wb") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stockstream.services.supervise",
                "--name",
                "test-child",
                "--backoff",
                "0.2",
                *options,
                "--",
                sys.executable,
                "-c",
                CHILD,
                str(folder),
                mode,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def runs(folder: Path) -> int:
    path = folder / "runs"
    return int(path.read_text()) if path.exists() else 0


def child_pid(folder: Path) -> int:
    assert wait_until((folder / "child.pid").exists, timeout=5, interval=0.02)
    return int((folder / "child.pid").read_text())


def gone(pid: int) -> bool:
    """True when pid no longer runs (a zombie nobody reaped yet counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_failing_child_is_restarted_and_a_clean_exit_ends_the_supervisor(
    tmp_path: Path, supervise: Supervise
) -> None:
    supervisor = supervise("fail-once")
    assert supervisor.wait(timeout=8) == 0
    assert runs(tmp_path) == 2
    log = tail(tmp_path / "log", 50)
    assert "test-child failed with exit code 1" in log
    assert "restarting in 0.2s" in log
    assert "test-child finished (exit code 0)" in log


def test_a_killed_child_is_restarted_and_what_it_left_behind_is_killed(
    tmp_path: Path, supervise: Supervise
) -> None:
    supervisor = supervise("hang-once")
    first = child_pid(tmp_path)
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    psutil.Process(first).send_signal(signal.SIGKILL)
    assert supervisor.wait(timeout=8) == 0, "the second run exits 0"
    assert runs(tmp_path) == 2
    assert "test-child failed with exit code -9 (SIGKILL)" in tail(tmp_path / "log", 50)
    assert wait_until(lambda: gone(grandchild), timeout=5, interval=0.05), "the orphan was swept up"


def test_sigterm_stops_the_child_and_the_supervisor_exits_0(tmp_path: Path, supervise: Supervise) -> None:
    supervisor = supervise("hang")
    child = child_pid(tmp_path)
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=8) == 0
    assert gone(child)
    assert wait_until(lambda: gone(grandchild), timeout=5, interval=0.05)
    assert runs(tmp_path) == 1, "a stopped child is not restarted"
    assert "SIGTERM received, stopping test-child" in tail(tmp_path / "log", 50)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(
    tmp_path: Path, supervise: Supervise
) -> None:
    supervisor = supervise("ignore-sigterm", "--grace", "0.5")
    child = child_pid(tmp_path)
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(timeout=8) == 0
    assert gone(child)
    log = tail(tmp_path / "log", 50)
    assert "test-child still running 0.5s after SIGTERM: killing it" in log
    assert runs(tmp_path) == 1


def test_a_stop_during_the_backoff_ends_it_at_once(tmp_path: Path, supervise: Supervise) -> None:
    supervisor = supervise("always-fail", "--backoff", "20", "--max-backoff", "20")
    assert wait_until(lambda: "restarting in 20.0s" in tail(tmp_path / "log"), timeout=5, interval=0.02)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=3) == 0, "the 20 s pause was cut short"
    assert runs(tmp_path) == 1


def test_a_missing_command_ends_the_supervisor_with_127(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stockstream.services.supervise", "--", str(tmp_path / "no-such-binary")],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 127
    assert "cannot start child" in result.stderr


def test_the_backoff_doubles_up_to_the_cap_and_resets_after_a_long_run() -> None:
    delays: list[float] = []
    delay: float | None = None
    for _ in range(7):
        delay = restart_delay(delay, ran_for=2.0, initial=1.0, maximum=30.0, stable_after=60.0)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert restart_delay(30.0, ran_for=61.0, initial=1.0, maximum=30.0, stable_after=60.0) == 1.0


def test_exit_codes_name_the_signal() -> None:
    assert describe_exit(1) == "exit code 1"
    assert describe_exit(-9) == "exit code -9 (SIGKILL)"
