"""The scale-out test runs the real locator, which searches the demo source systems: load the showcase."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.demo.loader import create_demo_systems, drop_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres


@pytest.fixture(scope="session")
async def demo_prefix(postgres: EmbeddedPostgres) -> AsyncIterator[str]:
    prefix = f"scale{uuid.uuid4().hex[:6]}_"
    await create_demo_systems(postgres.url(), subjects=0, seed=5, prefix=prefix)
    yield prefix
    await drop_demo_systems(postgres.url(), prefix=prefix)
