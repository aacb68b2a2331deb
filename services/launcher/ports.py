"""Free TCP ports on loopback, remembered in the data directory so a restart reuses them."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(host: str = "127.0.0.1") -> Callable[[], int]:
    """Hands out free ports, never the same one twice (for a supervisor's workers in a bench or test)."""
    given: set[int] = set()

    def take() -> int:
        port = free_port(host)
        while port in given:
            port = free_port(host)
        given.add(port)
        return port

    return take


def remembered_port(file: Path, host: str = "127.0.0.1") -> int:
    """The port saved in `file` if it is still free, else a new free one (saved)."""
    if file.exists():
        try:
            port = int(file.read_text().strip())
            if is_free(port, host):
                return port
        except ValueError:
            pass
    port = free_port(host)
    file.write_text(f"{port}\n")
    return port


def accepts_connections(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
