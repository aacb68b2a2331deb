"""Starts every service as its own process, restarts one that dies, stops them all on request."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.launcher.process import die_with_parent
from services.runtime.sockets import listening_socket

log = logging.getLogger(__name__)

SERVICES = ("intake", "locator", "fulfilment", "tracker", "notifier")
# Services whose API is public: their workers share one port (the API's), each also has its own.
PUBLIC = ("intake",)


@dataclass
class Child:
    name: str
    port: int
    service: str = ""
    shared_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Supervisor:
    env: dict[str, str]
    log_dir: Path
    children: list[Child] = field(default_factory=list)
    shared: dict[int, socket.socket] = field(default_factory=dict)
    """Listening sockets the supervisor holds for workers that share a port, by port."""

    @classmethod
    def for_services(
        cls,
        env: dict[str, str],
        log_dir: Path,
        api_port: int,
        workers: int = 1,
        services: tuple[str, ...] = SERVICES,
        child_port: Callable[[], int] | None = None,
    ) -> Supervisor:
        """One child per worker of every service, each on its own port (health, metrics).

        With one worker, the public API is the intake's own port (`api_port`). With several, the
        supervisor binds `api_port` and every intake worker accepts on that one socket, and the
        workers' own ports follow it; the workers of every service share their topics' partitions
        through their consumer group, and a relay per service holds the outbox while the others
        stand by.

        The workers' own ports follow `api_port` one by one, unless `child_port` hands each one out:
        a bench or a test on a port from the ephemeral range must not assume its neighbours are
        free, as any outgoing connection (to PostgreSQL, to the broker) may hold one.
        """
        children = []
        following = iter(range(api_port + 1, 65536))
        next_port = child_port or (lambda: next(following))
        for name in services:
            shared = api_port if workers > 1 and name in PUBLIC else None
            for worker in range(workers):
                port = api_port if workers == 1 and name in PUBLIC else next_port()
                children.append(Child(name if workers == 1 else f"{name}-{worker + 1}", port, name, shared))
        return cls(env, log_dir, children)

    @property
    def api_url(self) -> str:
        """Where the public API answers: the shared port of the intake workers, or the only one's."""
        first = self.children[0]
        return f"http://127.0.0.1:{first.shared_port}" if first.shared_port is not None else first.url

    def _spawn(self, child: Child) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        service = child.service or child.name
        env = {**os.environ, **self.env, "DSR_HTTP_PORT": str(child.port)}
        inherited: tuple[int, ...] = ()
        if child.shared_port is not None:
            shared = self.shared[child.shared_port]
            env["DSR_SHARED_HTTP_FD"] = str(shared.fileno())
            inherited = (shared.fileno(),)
        with (self.log_dir / f"{child.name}.log").open("ab") as out:
            child.process = subprocess.Popen(
                [sys.executable, "-m", "services.launcher.cli", "serve", service],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
                pass_fds=inherited,
                start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
            )
        child.started_at = time.monotonic()

    def start(self, host: str = "127.0.0.1") -> None:
        """Bind the shared ports (failing here if one is taken), then start every child."""
        for port in sorted({c.shared_port for c in self.children if c.shared_port is not None}):
            if port not in self.shared:
                try:
                    self.shared[port] = listening_socket(host, port)
                except OSError as exc:
                    raise RuntimeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        for child in self.children:
            self._spawn(child)

    def wait_ready(self, timeout: float) -> float:
        """Block until every child answers /readyz with 200; returns seconds waited."""
        started = time.monotonic()
        pending = {c.name: c for c in self.children}
        with httpx.Client(timeout=1.0) as client:
            while pending:
                for name, child in list(pending.items()):
                    if child.process is not None and child.process.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited during start-up; see {self.log_dir / (name + '.log')}"
                        )
                    try:
                        if client.get(f"{child.url}/readyz").status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(sorted(pending))}")
                time.sleep(0.1)
        return time.monotonic() - started

    def watch_once(self) -> list[str]:
        """Restart children that died (with backoff); returns the names restarted."""
        restarted = []
        now = time.monotonic()
        for child in self.children:
            if child.process is None or child.process.poll() is None:
                continue
            if child.next_start == 0.0:
                uptime = now - child.started_at
                child.restarts = 0 if uptime > 60 else child.restarts + 1
                child.next_start = now + min(0.5 * 2**child.restarts, 15)
            elif now >= child.next_start:
                child.next_start = 0.0
                self._spawn(child)
                restarted.append(child.name)
        return restarted

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM every child (graceful shutdown), SIGKILL what is left after `grace` seconds."""
        for child in self.children:
            if child.process is not None and child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            if child.process is None:
                continue
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        for sock in self.shared.values():
            sock.close()
        self.shared.clear()
