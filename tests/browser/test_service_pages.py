"""The operational endpoints as a browser sees them (the console and SLA page build on this)."""

import json

import pytest

from services.api.app import SPEC
from services.runtime.host import create_service_app
from tests.support.browser import chromium_page, screenshot_path

pytestmark = pytest.mark.browser


async def test_readiness_page_renders_in_chromium(settings, unused_tcp_port: int) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    import uvicorn

    app = create_service_app(SPEC, settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=unused_tcp_port, log_config=None, lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        async with chromium_page() as page:
            response = await page.goto(f"http://127.0.0.1:{unused_tcp_port}/healthz")
            assert response is not None and response.status == 200
            assert json.loads(await page.inner_text("body")) == {"status": "ok"}
            await page.screenshot(path=str(screenshot_path("healthz")))
    finally:
        server.should_exit = True
        await serving
