"""listening_addresses finds every listening socket of a process tree, exposed() the ones beyond
loopback or the configured host."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from stockstream.services.listeners import (
    Listener,
    exposed,
    instance_listeners,
    is_loopback,
    listening_addresses,
    pids_from_files,
)

pytestmark = pytest.mark.unit

# A parent that listens on TCP, and its child that listens on TCP, holds an unconnected UDP socket
# and a connected TCP client (not a listener). Each prints what it holds, then both wait.
TREE = textwrap.dedent(
    """
    import socket, subprocess, sys
    CHILD = '''
    import socket, sys
    tcp = socket.socket(); tcp.bind(("127.0.0.1", 0)); tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 0))
    client = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("child", tcp.getsockname()[1], udp.getsockname()[1], client.getsockname()[1], flush=True)
    sys.stdin.read()
    '''
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen()
    port = server.getsockname()[1]
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port)], stdin=subprocess.PIPE)
    print("parent", port, child.pid, flush=True)
    conn, _ = server.accept()
    child.wait()
    """
)


@pytest.fixture
def tree() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", TREE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    lines = sorted(proc.stdout.readline().split() for _ in range(2))  # child's line, parent's line
    try:
        yield proc, [*lines[1][1:], *lines[0][1:]]
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
        proc.kill()
        proc.wait()


def test_the_whole_tree_is_searched_and_only_listeners_are_reported(
    tree: tuple[subprocess.Popen[str], list[str]],
) -> None:
    proc, (parent_port, child_pid, child_tcp, child_udp, client_port) = tree
    found = listening_addresses([proc.pid])
    name = psutil.Process(proc.pid).name()
    assert sorted(found, key=lambda item: item.port) == sorted(
        [
            Listener(proc.pid, name, "127.0.0.1", int(parent_port)),
            Listener(int(child_pid), name, "127.0.0.1", int(child_tcp)),
            Listener(int(child_pid), name, "127.0.0.1", int(child_udp)),
        ],
        key=lambda item: item.port,
    )
    assert int(client_port) not in {item.port for item in found}, "a connected client is no listener"
    assert exposed(found) == []


def test_pid_files_of_running_processes_only(
    tree: tuple[subprocess.Popen[str], list[str]], tmp_path: Path
) -> None:
    proc, (parent_port, *_) = tree
    created = psutil.Process(proc.pid).create_time()
    (tmp_path / "svc.pid").write_text(f"{proc.pid} {created}\n")
    (tmp_path / "recycled.pid").write_text(f"{proc.pid} {created - 100}\n")  # the pid of another process
    (tmp_path / "gone.pid").write_text(f"{2**22 + 17} {created}\n")
    (tmp_path / "garbage.pid").write_text("not a pid\n")
    paths = sorted(tmp_path.glob("*.pid"))
    assert pids_from_files([*paths, tmp_path / "missing.pid"]) == [proc.pid]
    assert len(list(tmp_path.glob("*.pid"))) == 4, "stale files are left alone"
    assert int(parent_port) in {item.port for item in instance_listeners(tmp_path)}


def test_a_process_that_is_gone_is_skipped() -> None:
    assert listening_addresses([2**22 + 17]) == []
    assert all(item.pid != os.getpid() for item in listening_addresses([]))


@pytest.mark.parametrize(
    ("ip", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.1.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("fe80::1%eth0", False),
        ("", False),
    ],
)
def test_loopback_addresses(ip: str, loopback: bool) -> None:
    assert is_loopback(ip) is loopback


def test_exposed_means_neither_loopback_nor_the_configured_host() -> None:
    listeners = [
        Listener(1, "java", "127.0.0.1", 9092),
        Listener(2, "airflow", "0.0.0.0", 8793),
        Listener(3, "python", "::", 8050),
        Listener(4, "java", "10.0.0.5", 9093),
    ]
    assert exposed(listeners) == listeners[1:]
    # Configured to serve the LAN on 10.0.0.5: that address is intended, the wildcards are not.
    assert exposed(listeners, host="10.0.0.5") == listeners[1:3]
    # Configured for every interface: nothing is a surprise.
    assert exposed(listeners[:2], host="0.0.0.0") == []
