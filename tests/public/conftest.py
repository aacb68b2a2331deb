"""The API with the public pages in-process on a real port (no Kafka consumers), an HTTP client
without a key, and the session's SMTP sink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from services.intake import downloads, http
from services.intake.app import configure
from services.public import pages
from services.runtime.host import ServiceSpec, create_service_app
from services.runtime.settings import Settings
from tests.notifier.conftest import mail_sink  # noqa: F401  (the session's SMTP server)

SPEC = ServiceSpec("intake", routers=[http.router, downloads.router, pages.router], configure=configure)


@contextlib.asynccontextmanager
async def running_api(settings: Settings, port: int) -> AsyncIterator[str]:
    app = create_service_app(SPEC, settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(60):
            while not server.started:
                if serving.done():
                    serving.result()
                    raise AssertionError("the API stopped during start-up")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def public_url(settings: Settings, unused_tcp_port: int) -> AsyncIterator[str]:
    async with running_api(settings, unused_tcp_port) as url:
        yield url


@pytest.fixture
async def web(public_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client: no API key, form posts."""
    async with httpx.AsyncClient(base_url=public_url, timeout=30) as client:
        yield client
