"""A real MariaDB server (Debian's `mariadb-server`) of our own: its own data directory and socket
in a directory we are given, loopback TCP on a free port, a database and a user.

The sql engine's conformance suite (`tests/support/mariadb.py`) and `dsr bench engines` start one.
Start-up takes well under a second here (`mariadb-install-db` about 1.5 s on first use). `stop()`
and `start()` again keep the data and the port (the conformance suite's "server down" case).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from services.launcher.ports import accepts_connections, free_port
from services.launcher.process import die_with_parent

HOST = "127.0.0.1"
SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin")


def _binary(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SEARCH_PATH))


INSTALL_HINT = "apt-get install mariadb-server"
"""How to get the server on Debian (`.ci/run` installs it)."""


class MariaDBMissing(RuntimeError):
    """Debian's MariaDB server is not installed here."""


def mariadb_available() -> bool:
    return all(_binary(name) for name in ("mariadbd", "mariadb-install-db", "mariadb"))


class MariaDBServer:
    """One `mariadbd` in `root`; `database`/`user`/`password` are created on the first start."""

    def __init__(
        self, root: Path, *, database: str = "dsr_test", user: str = "dsr", password: str = "dsr-test"
    ):
        self.root = root.resolve()
        self.datadir = self.root / "data"
        self.socket = self.root / "mysqld.sock"
        self.log = self.root / "error.log"
        self.database = database
        self.user = user
        self.password = password
        self.port = free_port(HOST)
        self.process: subprocess.Popen[bytes] | None = None
        self.started_seconds = 0.0
        """How long the last `start()` took (installing the system tables included)."""

    def url(self, database: str | None = None, driver: str = "mysql+asyncmy") -> str:
        return f"{driver}://{self.user}:{self.password}@{HOST}:{self.port}/{database or self.database}"

    # --------------------------------------------------------------------------- life cycle

    def start(self, timeout: float = 30.0) -> MariaDBServer:
        if not mariadb_available():
            raise MariaDBMissing(f"Debian's mariadb-server is not installed ({INSTALL_HINT})")
        started = time.perf_counter()
        self.root.mkdir(parents=True, exist_ok=True)
        first = not (self.datadir / "mysql").exists()
        if first:
            self._install()
        self._launch()
        self._wait_ready(timeout)
        if first:
            self._bootstrap()
        self.started_seconds = time.perf_counter() - started
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down (SIGTERM: a clean shutdown), keeping its data and port."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def teardown(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # ----------------------------------------------------------------------------- helpers

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; CI runs as root.
        return ["--user=root"] if os.geteuid() == 0 else []

    def _install(self) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        command = [
            str(_binary("mariadb-install-db")),
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",  # root without a password, on the socket only
            "--skip-test-db",
            "--skip-name-resolve",
            *self._user_args(),
        ]
        done = subprocess.run(command, capture_output=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"mariadb-install-db failed ({done.returncode}): {done.stderr.decode()[-2000:]}"
            )

    def _launch(self) -> None:
        command = [
            str(_binary("mariadbd")),
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={self.socket}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            f"--log-error={self.log}",
            f"--port={self.port}",
            f"--bind-address={HOST}",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",  # Debian's default: case-insensitive, as in production
            "--max-connections=200",
            *self._user_args(),
        ]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # a killed test run leaves no server behind
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({self.process.returncode}): {self._log_tail()}")
            if self.socket.exists() and accepts_connections(HOST, self.port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd not ready after {timeout} s: {self._log_tail()}")
            time.sleep(0.02)

    def _bootstrap(self) -> None:
        # Names and password are our own constants (no quotes in them).
        self.sql(
            f"CREATE DATABASE IF NOT EXISTS `{self.database}` CHARACTER SET utf8mb4;"
            f"CREATE USER IF NOT EXISTS '{self.user}'@'127.0.0.1' IDENTIFIED BY '{self.password}';"
            f"GRANT ALL PRIVILEGES ON `{self.database}`.* TO '{self.user}'@'127.0.0.1';"
        )

    def sql(self, statements: str) -> str:
        """Run statements as root over the socket (the `mariadb` client); returns its output."""
        done = subprocess.run(
            [str(_binary("mariadb")), "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"],
            input=statements.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"mariadb client failed: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"
