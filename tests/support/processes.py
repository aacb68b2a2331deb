"""Services as real processes, started the way `dsr up` starts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.launcher.ports import free_port
from services.launcher.process import die_with_parent
from services.runtime.settings import Settings


class ServiceProcess:
    def __init__(
        self, service: str, settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None
    ):
        self.service = service
        self.settings = settings
        self.port = free_port()
        self.log_file = log_dir / f"{service}-{self.port}.log"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServiceProcess:
        env = {
            **os.environ,
            "DSR_DATABASE_URL": str(self.settings.database_url),
            "DSR_KAFKA_BOOTSTRAP": str(self.settings.kafka_bootstrap),
            "DSR_TOPIC_PREFIX": self.settings.topic_prefix,
            "DSR_DATA_DIR": str(self.settings.data_dir),
            "DSR_API_KEYS": self.settings.api_keys,
            "DSR_ARTIFACT_KEYS": self.settings.artifact_keys,
            "DSR_HTTP_PORT": str(self.port),
            "DSR_OUTBOX_POLL_SECONDS": str(self.settings.outbox_poll_seconds),
            "DSR_CONSUMER_COMMIT_INTERVAL": str(self.settings.consumer_commit_interval),
            **self.extra_env,
        }
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.launcher.cli", "serve", self.service],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent,  # a test run that is killed leaves no service behind
            )
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"{self.service} exited: {self.log_file.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.service} not ready after {timeout} s")

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
