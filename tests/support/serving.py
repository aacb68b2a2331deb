"""A service's HTTP app in-process on a real port, for tests that need its routes but not its consumers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from services.runtime.host import ServiceSpec, create_service_app, proxy_options
from services.runtime.settings import Settings


@contextlib.asynccontextmanager
async def serving(spec: ServiceSpec, settings: Settings, port: int) -> AsyncIterator[str]:
    """Serve `spec` on 127.0.0.1:`port` until the block ends; yields its base URL."""
    app = create_service_app(spec, settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            **proxy_options(settings),  # as `serve` runs it: forwarded headers only from trusted proxies
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(60):
            # serving starts at once; the service's runtime (ledger, broker) comes up behind it
            while not server.started or app.state.runtime is None:
                if task.done():
                    task.result()
                    raise AssertionError(f"{spec.name} stopped during start-up")
                await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
