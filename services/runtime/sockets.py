"""Listening sockets for the HTTP servers: a process's own, and one its supervisor shares with it.

Several workers of the public API serve one port by accepting on one listening socket that the
supervisor opened and handed to each of them: the kernel gives every waiting connection to whichever
live worker accepts first, so a killed worker loses only the connections it had already taken. The
port stays bound by the supervisor, so no other process (another `dsr up`) can take or share it.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (port reuse after a restart, as uvicorn does)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def inherited_socket(fd: int) -> socket.socket:
    """The listening socket a parent passed down as file descriptor `fd`."""
    sock = socket.socket(fileno=fd)
    if sock.type != socket.SOCK_STREAM:
        raise ValueError(f"file descriptor {fd} is not a stream socket")
    return sock
