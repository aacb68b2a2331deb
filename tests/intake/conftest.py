"""The intake API in-process (HTTP routes, ledger pool, outbox relay; no Kafka consumers) on a real port."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.api.app import configure
from services.intake import downloads, http
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.helpers import Submit, auth
from tests.support.serving import serving

SPEC = ServiceSpec("intake", routers=[http.router, downloads.router], configure=configure)


def running_intake(settings: Settings, port: int) -> contextlib.AbstractAsyncContextManager[str]:
    """Serve the intake API on 127.0.0.1:`port` until the block ends; yields its base URL."""
    return serving(SPEC, settings, port)


@pytest.fixture
async def intake_url(settings: Settings, unused_tcp_port: int) -> AsyncIterator[str]:
    async with running_intake(settings, unused_tcp_port) as url:
        yield url


@pytest.fixture
async def api(intake_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running API, authenticated as the agent key (pass `headers=auth(role)` to switch)."""
    async with httpx.AsyncClient(base_url=intake_url, headers=auth("agent"), timeout=30) as client:
        yield client


@pytest.fixture
def submit(api: httpx.AsyncClient) -> Submit:
    """POST /v1/requests; asserts 202 unless `expect` says otherwise; returns the response."""

    async def post(
        body: dict[str, Any], *, expect: int | None = 202, headers: dict[str, Any] | None = None
    ) -> httpx.Response:
        response = await api.post("/v1/requests", json=body, headers=headers)
        if expect is not None:
            assert response.status_code == expect, response.text
        return response

    return post
