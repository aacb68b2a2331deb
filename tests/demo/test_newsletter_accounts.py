"""The demo newsletter server: one account per data file, each behind the same token and API."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx

from services.demo.newsletter_accounts import NewsletterServer
from services.demo.newsletter_api import NewsletterStore
from services.launcher.ports import free_port


def _account(data_dir: Path, name: str) -> None:
    store = NewsletterStore(data_dir / f"{name}.sqlite3")
    store.load(
        {"downloads": [{"id": 1, "email": "a@example.no", "asset": "x.pdf", "restricted": False}]},
        replace=True,
    )
    store.close()


def test_each_account_is_its_own_data_and_a_missing_one_is_not_created(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(16)
    _account(tmp_path, "acme")
    server = NewsletterServer(tmp_path, token).start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/acme/v1/downloads/1", headers=auth).status_code == 200
            assert client.get("/acme/v1/downloads/1").status_code == 401
            for missing in ("/other/v1/ping", "/ACME/v1/ping", "/%2e%2e/v1/ping", "/acme%00/v1/ping"):
                assert client.get(missing, headers=auth).status_code == 404, missing
        assert sorted(p.name for p in tmp_path.glob("*.sqlite3")) == ["acme.sqlite3"]
    finally:
        server.stop()
    # stopped: a real outage on the same port; started again: the same data
    try:
        httpx.get(f"{server.url}/acme/v1/ping", timeout=1)
        raise AssertionError("the stopped server answered")
    except httpx.TransportError:
        pass
    server.start()
    try:
        answer = httpx.get(f"{server.url}/acme/v1/downloads/1", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
    finally:
        server.stop()


def test_the_command_line_serves_the_accounts_with_the_token_from_the_environment(tmp_path: Path) -> None:
    _account(tmp_path, "demo_marketing")
    port, token = free_port(), secrets.token_urlsafe(16)
    command = [sys.executable, "-m", "services.demo.newsletter_accounts", "--port", str(port)]
    command += ["--data-dir", str(tmp_path), "--token-env", "NEWSLETTER_TEST_TOKEN"]
    process = subprocess.Popen(command, env={**os.environ, "NEWSLETTER_TEST_TOKEN": token})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(
                    f"http://127.0.0.1:{port}/demo_marketing/v1/ping",
                    headers={"Authorization": f"Bearer {token}"},
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert answer.status_code == 200 and answer.json() == {"ok": True}
    finally:
        process.terminate()
        process.wait(10)
    refused = subprocess.run(
        [*command[:-1], "NEWSLETTER_UNSET_TOKEN"], capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "holds no token" in refused.stderr
