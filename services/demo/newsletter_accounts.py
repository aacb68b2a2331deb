"""One demo newsletter server for several accounts: `/<account>/v1/...` is the newsletter API
(`newsletter_api.py`) over `<data dir>/<account>.sqlite3`, as a SaaS product serves each customer
its own data under one host. `dsr up --demo` has one account (`demo_marketing`); the tests load
one per demo prefix (`<prefix>demo_marketing`) and share the server.

    python -m services.demo.newsletter_accounts --port 8600 --data-dir DIR --token-env NEWSLETTER_API_TOKEN
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from services.demo.newsletter_api import (
    NewsletterStore,
    create_app,
    server_config,
    server_parser,
    token_from_env,
)
from services.demo.placement import DemoSources

log = logging.getLogger(__name__)

_ACCOUNT = re.compile(r"^[a-z0-9_]{1,63}$")

Scope = dict[str, Any]


def account_file(data_dir: Path, account: str) -> Path:
    return data_dir / f"{account}.sqlite3"


class Accounts:
    """An ASGI app dispatching each request to its account's newsletter API (opened on first use;
    an account whose data file does not exist is a 404, never created by a request)."""

    def __init__(self, data_dir: Path, token: str, *, rate: float | None = None, burst: int | None = None):
        if not token:
            raise ValueError("the API needs a token to require")
        self.data_dir = data_dir
        self._token = token
        self._rate = rate
        self._burst = burst
        self._apps: dict[str, Any] = {}
        self._stores: list[NewsletterStore] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        account, _, _rest = scope["path"].lstrip("/").partition("/")
        app = self._app(account)
        if app is None:
            body = json.dumps({"error": "no_such_account"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        # The account's API routes below its prefix (Starlette strips `root_path` from `path`).
        await app({**scope, "root_path": f"{scope.get('root_path', '')}/{account}"}, receive, send)

    def _app(self, account: str) -> Any:
        if account in self._apps:
            return self._apps[account]
        if not _ACCOUNT.match(account) or not account_file(self.data_dir, account).is_file():
            return None
        store = NewsletterStore(account_file(self.data_dir, account))
        self._stores.append(store)
        self._apps[account] = create_app(store, self._token, rate=self._rate, burst=self._burst)
        return self._apps[account]

    def close(self) -> None:
        for store in self._stores:
            store.close()


class NewsletterServer:
    """The accounts' API served by uvicorn in a thread of this process (`dsr up --demo`, tests), or
    with `process` in a process of its own (the benches: a SaaS does not share the measured
    process's CPU); `stop` and `start` again give a real outage on the same port."""

    def __init__(
        self,
        data_dir: Path,
        token: str,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        rate: float = 1000.0,
        process: bool = False,
    ) -> None:
        from services.launcher.ports import free_port

        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self.token = token
        self._rate = rate
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._accounts: Accounts | None = None
        self._own_process = process
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def account_url(self, account: str) -> str:
        return f"{self.url}/{account}"

    def start(self, timeout: float = 10.0) -> NewsletterServer:
        import uvicorn

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._own_process:
            return self._start_process(timeout)
        self._accounts = Accounts(self.data_dir, self.token, rate=self._rate)
        self._server = uvicorn.Server(server_config(self._accounts, self.host, self.port))  # type: ignore[arg-type]
        self._server.install_signal_handlers = lambda: None  # the main thread's signals stay its own
        self._thread = threading.Thread(target=self._server.run, name="newsletter-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the demo newsletter API did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def _start_process(self, timeout: float) -> NewsletterServer:
        from services.launcher.ports import accepts_connections
        from services.launcher.process import die_with_parent

        command = [sys.executable, "-m", "services.demo.newsletter_accounts", "--port", str(self.port)]
        command += ["--host", self.host, "--data-dir", str(self.data_dir), "--rate", str(self._rate)]
        command += ["--token-env", "DSR_NEWSLETTER_SERVER_TOKEN"]
        self._process = subprocess.Popen(
            command,
            env={**os.environ, "DSR_NEWSLETTER_SERVER_TOKEN": self.token},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # never outlives the bench that started it
        )
        deadline = time.monotonic() + timeout
        while not accepts_connections(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo newsletter API did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        if self._accounts is not None:
            self._accounts.close()
        self._server = self._thread = self._accounts = None


def start_demo_newsletter(
    data_dir: Path, *, keep: bool = False, process: bool = False
) -> tuple[NewsletterServer, DemoSources]:
    """The demo's newsletter SaaS for a data directory, started; with `keep` (`dsr up`) its token
    and port are kept in the data directory across restarts; with `process` it runs apart."""
    from services.launcher.ports import remembered_port

    sources_dir = data_dir / "sources"
    sources_dir.mkdir(parents=True, exist_ok=True)
    file = data_dir / "newsletter-token"
    if keep and file.exists():
        token = file.read_text().strip()
    else:
        token = secrets.token_urlsafe(24)
        if keep:
            file.touch(mode=0o600)
            file.write_text(token + "\n")
    port = remembered_port(data_dir / "newsletter-port") if keep else None
    server = NewsletterServer(sources_dir / "newsletter", token, port=port, process=process).start()
    return server, DemoSources(sources_dir, server.url, token)


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = server_parser("python -m services.demo.newsletter_accounts", __doc__.split("\n")[0], rate=1000.0)
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="The folder of the accounts' data files."
    )
    arguments = parser.parse_args(argv)
    token = token_from_env(parser, arguments)
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    accounts = Accounts(arguments.data_dir, token, rate=arguments.rate or None, burst=arguments.burst)
    server = uvicorn.Server(server_config(accounts, arguments.host, arguments.port))  # type: ignore[arg-type]
    log.info("Newsletter API: http://%s:%d/<account>", arguments.host, arguments.port)
    try:
        asyncio.run(server.serve())
    finally:
        accounts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
