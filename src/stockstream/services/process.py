"""A supervised background process: pid file, log file, health wait and a clean stop of its tree."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from stockstream.config import Settings
from stockstream.errors import StockstreamError

log = logging.getLogger(__name__)


def tail(path: Path, lines: int = 25) -> str:
    """The last lines of a log file ('' when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def port_in_use(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports() -> dict[str, int]:
    """A free port for every port setting (each *_port field of Settings): an instance of its own."""
    return {name: free_port() for name in Settings.model_fields if name.endswith("_port")}


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll check() until it is true or timeout seconds pass; True when it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass
class ManagedProcess:
    """One long-running process started in its own session, tracked by a pid file."""

    name: str
    argv: Sequence[str]
    run_dir: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None

    @property
    def pid_path(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_path.read_text().split()[0])
            created = float(self.pid_path.read_text().split()[1])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        try:
            proc = psutil.Process(pid)
            # A recycled pid belongs to another process: compare start times.
            if abs(proc.create_time() - created) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE:
                return pid
        except psutil.NoSuchProcess:
            pass
        self.pid_path.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(self) -> int:
        """Start the process unless it runs already; returns its pid."""
        running = self.pid()
        if running is not None:
            return running
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            log_file.write(f"\n--- {self.name} starting: {' '.join(self.argv)}\n".encode())
            log_file.flush()
            try:
                proc = subprocess.Popen(  # noqa: S603 - argv is built by the project, never a shell
                    list(self.argv),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **self.env},
                    cwd=self.cwd,
                    start_new_session=True,
                )
            except FileNotFoundError as exc:
                raise StockstreamError(
                    f"cannot start {self.name}: {self.argv[0]} was not found",
                    "run `make install` (Python tools) or install Java 17 (the broker)",
                ) from exc
        created = psutil.Process(proc.pid).create_time()
        self.pid_path.write_text(f"{proc.pid} {created}\n")
        log.info("started %s (pid %d), log: %s", self.name, proc.pid, self.log_path)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the process and every descendant: SIGTERM, then SIGKILL after timeout.
        Returns True when something was running."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        for proc in tree:
            _signal(proc, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=timeout)
        # Children spawned while we waited belong to the same tree: collect them too.
        stragglers = set(alive)
        for proc in list(alive):
            with contextlib.suppress(psutil.NoSuchProcess):
                stragglers.update(proc.children(recursive=True))
        if stragglers:
            log.warning(
                "%s did not stop within %gs of SIGTERM: killing %s",
                self.name,
                timeout,
                ", ".join(f"pid {proc.pid}" for proc in stragglers),
            )
        for proc in stragglers:
            _signal(proc, signal.SIGKILL)
        psutil.wait_procs(list(stragglers), timeout=10)
        self.pid_path.unlink(missing_ok=True)
        log.info("stopped %s (pid %d)", self.name, pid)
        return True

    def wait_healthy(self, check: Callable[[], bool], timeout: float) -> None:
        """Wait until check() passes; raise with the log's last lines if the process died or
        the deadline passed."""

        def healthy_or_dead() -> bool:
            return not self.is_running() or check()

        wait_until(healthy_or_dead, timeout)
        if not self.is_running():
            raise StockstreamError(
                f"{self.name} exited during start-up. Last lines of {self.log_path}:\n{tail(self.log_path)}",
                "fix the cause above, then run `stockstream up` again",
            )
        if not check():
            raise StockstreamError(
                f"{self.name} did not become healthy within {timeout:.0f}s. "
                f"Last lines of {self.log_path}:\n{tail(self.log_path)}",
                "raise STOCKSTREAM_START_TIMEOUT on a slow machine, or read the full log",
            )


def start_on_port(
    process: ManagedProcess,
    healthy: Callable[[], bool],
    host: str,
    port: int,
    *,
    setting: str,
    timeout: float,
) -> None:
    """Start a service that listens on host:port unless it runs and is healthy, and wait until it
    is; a port another program holds is refused with the setting that moves it."""
    if process.is_running() and healthy():
        return
    if not process.is_running() and port_in_use(host, port):
        raise StockstreamError(
            f"port {host}:{port} is taken by another program, so the {process.name} cannot bind it",
            f"stop that program, or choose another port with {setting}",
        )
    process.start()
    process.wait_healthy(healthy, timeout=timeout)


def _signal(proc: psutil.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
        proc.send_signal(sig)
