"""Which addresses the processes of an instance listen on: the proof that nothing binds beyond
the configured host (127.0.0.1 by default)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import psutil


class Listener(NamedTuple):
    """One listening socket: the process that holds it, and the address it is bound to."""

    pid: int
    name: str
    ip: str
    port: int


def pids_from_files(paths: Iterable[Path]) -> list[int]:
    """The pids of the running processes named by pid files (`<pid> <create time>`, as the
    services write them); a missing, unreadable or stale file (the pid now belongs to another
    process, or to none) is skipped. Nothing is removed."""
    pids = []
    for path in paths:
        try:
            pid_text, created_text = path.read_text().split()[:2]
            pid, created = int(pid_text), float(created_text)
            proc = psutil.Process(pid)
            if abs(proc.create_time() - created) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE:
                pids.append(pid)
        except (OSError, ValueError, psutil.Error):
            continue
    return pids


def listening_addresses(pids: Iterable[int]) -> list[Listener]:
    """Every TCP socket in LISTEN state and every unconnected UDP socket held by these processes
    or any of their descendants (a service's JVM, Airflow's task processes, a Spark driver's
    Python workers), sorted by port. Processes that exit meanwhile are skipped."""
    tree: dict[int, psutil.Process] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for proc in (root, *root.children(recursive=True)):
                tree[proc.pid] = proc
    found: set[Listener] = set()
    for proc in tree.values():
        try:
            name = proc.name()
            sockets = proc.net_connections(kind="inet")
        except psutil.Error:
            continue
        for conn in sockets:
            listening = (conn.type == socket.SOCK_STREAM and conn.status == psutil.CONN_LISTEN) or (
                conn.type == socket.SOCK_DGRAM and not conn.raddr
            )
            if listening and conn.laddr:
                found.add(Listener(proc.pid, name, conn.laddr.ip, conn.laddr.port))
    return sorted(found, key=lambda item: (item.port, item.ip, item.pid))


def is_loopback(ip: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.0.0.1)."""
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def exposed(listeners: Iterable[Listener], host: str = "127.0.0.1") -> list[Listener]:
    """The listeners reachable from other machines although the instance is configured for
    `host`: bound neither to a loopback address nor to `host` itself (0.0.0.0 and :: always are)."""
    return [item for item in listeners if not (is_loopback(item.ip) or item.ip == host)]


def instance_listeners(run_dir: Path) -> list[Listener]:
    """What the services of one data root listen on, found through the pid files in its run dir
    (settings.run_dir): the broker, the stream, the dashboard and Airflow's components."""
    return listening_addresses(pids_from_files(sorted(run_dir.glob("*.pid"))))
