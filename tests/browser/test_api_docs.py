"""The API's documentation in real Chromium with the network cut off (issue 21): every request the
page makes is recorded and any not to 127.0.0.1 aborted, and none is attempted. `/docs` (Swagger
UI) and `/redoc` render the operations from `/openapi.json`; `/asyncapi` lists every topic. CSP
violations are recorded too: none on `/docs` and `/asyncapi`; on `/redoc` only ReDoc's sidebar
logo, an image on the vendor's CDN that `img-src` refuses (so the browser never asks for it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from schemas.registry import TOPICS
from services.api.app import SPEC
from services.runtime.host import create_service_app
from services.runtime.settings import Settings
from tests.support.browser import chromium_page, screenshot_path

pytestmark = pytest.mark.browser

REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
_RECORD_CSP = """document.addEventListener("securitypolicyviolation", (e) => {
  (window.__csp = window.__csp || []).push([e.effectiveDirective, e.blockedURI]);
});"""


@pytest.fixture
async def api_url(unused_tcp_port: int) -> AsyncIterator[str]:
    """The public API's app as `dsr up` builds it; no lifespan, as these pages need no ledger."""
    app = create_service_app(SPEC, Settings())
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=unused_tcp_port, log_config=None, lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{unused_tcp_port}"
    finally:
        server.should_exit = True
        await serving


class Offline:
    """A page whose every request is recorded, and aborted unless it goes to 127.0.0.1."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requested: list[str] = []
        self.errors: list[str] = []

    async def start(self) -> None:
        await self.page.route("**/*", self._route)
        await self.page.add_init_script(_RECORD_CSP)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def _route(self, route: Any) -> None:
        url = route.request.url
        self.requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            await route.abort()

    def elsewhere(self) -> list[str]:
        return [url for url in self.requested if urlsplit(url).hostname != "127.0.0.1"]

    async def violations(self) -> list[list[str]]:
        return list(await self.page.evaluate("window.__csp || []"))


async def test_swagger_ui_renders_the_operations_offline(api_url: str) -> None:
    async with chromium_page() as page:
        offline = Offline(page)
        await offline.start()
        response = await page.goto(f"{api_url}/docs")
        assert response is not None and response.status == 200
        operation = page.locator(".opblock-summary-path", has_text="/v1/requests/{request_id}/verification")
        await operation.first.wait_for(timeout=30_000)
        assert await page.locator(".opblock").count() >= 10
        assert await page.locator("text=DSR pipeline API").count() >= 1
        await page.screenshot(path=str(screenshot_path("api-docs-swagger")))
        assert offline.elsewhere() == []
        assert f"{api_url}/openapi.json" in offline.requested
        assert await offline.violations() == []
        assert offline.errors == []


async def test_redoc_renders_the_operations_offline(api_url: str) -> None:
    async with chromium_page() as page:
        offline = Offline(page)
        await offline.start()
        response = await page.goto(f"{api_url}/redoc")
        assert response is not None and response.status == 200
        await page.locator(".api-content h2", has_text="Submit a data subject request").first.wait_for(
            timeout=30_000
        )
        assert await page.get_by_text("/v1/requests/{request_id}/verification").count() >= 1
        await page.screenshot(path=str(screenshot_path("api-docs-redoc")))
        assert offline.elsewhere() == []
        assert f"{api_url}/openapi.json" in offline.requested
        assert {tuple(v) for v in await offline.violations()} <= {("img-src", REDOC_LOGO)}
        assert offline.errors == []


async def test_the_asyncapi_page_lists_the_topics_offline(api_url: str) -> None:
    async with chromium_page() as page:
        offline = Offline(page)
        await offline.start()
        response = await page.goto(f"{api_url}/asyncapi")
        assert response is not None and response.status == 200
        assert await page.locator("script").count() == 0
        listed = await page.locator("table.topics tbody tr td:first-child").all_inner_texts()
        assert [text.strip() for text in listed] == list(TOPICS)
        for topic in TOPICS:
            assert await page.locator(f"h2:has-text('Topic {topic}')").count() == 1, topic
        assert await page.locator("#message-request\\.submitted h3").inner_text() == "Event request.submitted"
        assert (
            await page.evaluate("getComputedStyle(document.querySelector('.apidocs-nav')).display") == "flex"
        )
        await page.screenshot(path=str(screenshot_path("api-docs-asyncapi")), full_page=False)
        assert offline.elsewhere() == []
        assert await offline.violations() == []
        assert offline.errors == []
