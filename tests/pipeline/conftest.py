"""The pipeline tests run the real locator, which searches the demo source systems: load them once."""

from __future__ import annotations

import pytest

from services.demo.loader import create_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres


@pytest.fixture(scope="session", autouse=True)
async def demo_source_systems(postgres: EmbeddedPostgres) -> None:
    # Showcase subjects only, under the catalogue's own database names on the test server.
    await create_demo_systems(postgres.url(), subjects=0, seed=1)
