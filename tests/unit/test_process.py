from __future__ import annotations

import socket
import sys
from pathlib import Path

import psutil
import pytest

from stockstream.errors import StockstreamError
from stockstream.services.process import ManagedProcess, port_in_use, tail, wait_until

pytestmark = pytest.mark.unit


def sleeper(tmp_path: Path, script: str) -> ManagedProcess:
    return ManagedProcess(
        name="sleeper", argv=["bash", "-c", script], run_dir=tmp_path / "run", log_path=tmp_path / "s.log"
    )


def test_start_is_idempotent_and_stop_ends_the_whole_tree(tmp_path: Path) -> None:
    proc = sleeper(tmp_path, "tail -f /dev/null & tail -f /dev/null & echo started; wait")
    pid = proc.start()
    assert proc.start() == pid, "a second start reuses the running process"
    assert wait_until(lambda: len(psutil.Process(pid).children()) == 2, timeout=10)
    tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    assert proc.stop(timeout=5) is True
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree)
    assert not proc.pid_path.exists()
    assert proc.stop() is False, "stopping what is not running is fine"
    assert "started" in tail(proc.log_path)


def test_stop_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = (
        "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); signal.pause()"
    )
    proc = ManagedProcess(
        name="stubborn", argv=[sys.executable, "-c", stubborn], run_dir=tmp_path, log_path=tmp_path / "s.log"
    )
    pid = proc.start()
    assert wait_until(lambda: "ready" in tail(proc.log_path), timeout=10)
    proc.stop(timeout=1)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_stale_pid_file_is_not_a_running_process(tmp_path: Path) -> None:
    proc = sleeper(tmp_path, "true")
    proc.run_dir.mkdir(parents=True)
    proc.pid_path.write_text(f"{psutil.Process().pid} 12345.0\n")  # our pid, but another start time
    assert proc.pid() is None
    assert not proc.pid_path.exists()


def test_a_process_that_dies_during_start_up_reports_its_log(tmp_path: Path) -> None:
    proc = sleeper(tmp_path, "echo 'boom: config is broken' >&2; exit 3")
    proc.start()
    with pytest.raises(StockstreamError) as info:
        proc.wait_healthy(lambda: False, timeout=10)
    assert "exited during start-up" in str(info.value)
    assert "boom: config is broken" in str(info.value)


def test_a_missing_executable_is_a_clear_error(tmp_path: Path) -> None:
    proc = ManagedProcess(
        name="ghost", argv=[str(tmp_path / "no-such-binary")], run_dir=tmp_path, log_path=tmp_path / "g.log"
    )
    with pytest.raises(StockstreamError, match="was not found"):
        proc.start()


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
    assert not port_in_use("127.0.0.1", port)


def test_tail_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    assert tail(tmp_path / "none.log") == ""
