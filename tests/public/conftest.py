"""The API with the public pages in-process on a real port (no Kafka consumers), an HTTP client
without a key, and the session's SMTP sink."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.api.app import configure
from services.demo.loader import DemoSystems, create_demo_systems
from services.intake import downloads, http
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.public import pages
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.notifier.conftest import mail_sink  # noqa: F401  (the session's SMTP server)
from tests.support.serving import serving

SPEC = ServiceSpec("intake", routers=[http.router, downloads.router, pages.router], configure=configure)


def running_api(settings: Settings, port: int) -> contextlib.AbstractAsyncContextManager[str]:
    """Serve the API with the public pages on 127.0.0.1:`port`; yields its base URL."""
    return serving(SPEC, settings, port)


@pytest.fixture
async def public_url(settings: Settings, unused_tcp_port: int) -> AsyncIterator[str]:
    async with running_api(settings, unused_tcp_port) as url:
        yield url


@pytest.fixture
async def web(public_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client: no API key, form posts."""
    async with httpx.AsyncClient(base_url=public_url, timeout=30) as client:
        yield client


AXE_VERSION = "4.10.3"


@pytest.fixture(scope="session")
def axe_script() -> str:
    """axe-core from npm (`npm pack`, cached under ~/.cache), injected into pages by the browser tests;
    never loaded from a CDN. `DSR_AXE_JS` may name a vendored copy instead."""
    configured = os.environ.get("DSR_AXE_JS")
    if configured:
        return Path(configured).read_text()
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "dsr-tests"
        / f"axe-core-{AXE_VERSION}"
    )
    script = cache / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is needed to fetch axe-core for the accessibility check")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "pack", f"axe-core@{AXE_VERSION}", "--pack-destination", str(cache)],
            check=True,
            capture_output=True,
            timeout=180,
        )
        with tarfile.open(cache / f"axe-core-{AXE_VERSION}.tgz") as archive:
            member = archive.extractfile("package/axe.min.js")
            assert member is not None
            script.write_bytes(member.read())
    return script.read_text()


@pytest.fixture(scope="session")
async def showcase(postgres: EmbeddedPostgres) -> DemoSystems:
    """The showcase subjects in the demo systems, unprefixed: the same load the pipeline tests use."""
    return await create_demo_systems(postgres.url(), subjects=0, seed=1)
