"""Issue 22, medium: per-address limits count the TCP peer, whatever `X-Forwarded-For` claims, unless
the peer is a configured proxy (`DSR_TRUSTED_PROXIES`). uvicorn believes forwarded headers from
loopback by default, so before this a client on the same host walked past the limits of console
sign-in, the public form and `/status` by sending a new address with every request."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from services.api.app import SPEC as FULL
from services.api.app import configure
from services.console import throttle
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)
LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DSR_PUBLIC_RATE_PER_ADDRESS", str(LIMIT))
    monkeypatch.setenv("DSR_CONSOLE_COOKIE_SECURE", "false")  # plain HTTP here: the client keeps cookies


@pytest.fixture
async def api(settings: Settings, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(INTAKE, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


def _claiming(n: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"}


async def _status_answers(client: httpx.AsyncClient, *, spoof: bool) -> list[int]:
    answers = []
    for n in range(LIMIT + 2):
        response = await client.post(
            "/status",
            data={"reference": "DSR-2026-000001", "secret": "AAAAAA-BBBBBB"},
            headers=_claiming(n if spoof else 1),
        )
        answers.append(response.status_code)
    return answers


async def test_a_forged_forwarded_for_does_not_escape_the_per_address_limits(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    assert await _status_answers(api, spoof=True) == [404] * LIMIT + [429, 429]
    form = [
        (await api.post("/request", data={"type": "access"}, headers=_claiming(100 + n))).status_code
        for n in range(LIMIT + 1)
    ]
    assert form == [422] * LIMIT + [429]

    page = await api.get("/console/sign-in", headers=_claiming(1))
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    signed = await api.post(
        "/console/sign-in",
        data={"csrf": token.group(1), "name": "nobody", "password": "wrong"},
        headers=_claiming(2),
    )
    assert signed.status_code == 401
    addresses = {row["address"] for row in await pool.fetch("select address from console_signin_attempts")}
    assert addresses == {throttle._digest("address", "127.0.0.1")}


async def test_a_configured_proxy_is_believed(settings: Settings, unused_tcp_port: int) -> None:
    behind_proxy = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    async with (
        serving(INTAKE, behind_proxy, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        assert await _status_answers(client, spoof=True) == [404] * (LIMIT + 2)  # each its own client
        assert (await _status_answers(client, spoof=False))[-2:] == [429, 429]  # one client, limited


def test_trusted_proxies_must_be_addresses() -> None:
    assert (
        Settings(trusted_proxies=" 10.0.0.5, 10.1.0.0/16 ,::1").trusted_proxies == "10.0.0.5,10.1.0.0/16,::1"
    )
    for bad in ("*", "proxy.internal", "10.0.0.0/33"):
        with pytest.raises(ValidationError, match="trusted_proxies"):
            Settings(trusted_proxies=bad)
