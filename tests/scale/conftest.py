"""The scale-out test runs the real locator, which searches the demo source systems: the showcase
subjects under the catalogue's own names, the same load as tests/pipeline's (reused when it ran first)."""

from __future__ import annotations

import pytest

from services.demo.loader import create_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres


@pytest.fixture(scope="session")
async def demo_prefix(postgres: EmbeddedPostgres) -> str:
    return (await create_demo_systems(postgres.url(), subjects=0, seed=1)).prefix
