"""One demo load (300 people) for the locator tests, dropped after; a locator over it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.locate import Locator
from services.locator.settings import LocatorSettings


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue("catalogue")


@pytest.fixture(scope="session")
async def demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    prefix = f"loc{uuid.uuid4().hex[:8]}_"
    systems = await create_demo_systems(postgres.url(), subjects=300, seed=7, prefix=prefix)
    yield systems
    await drop_demo_systems(postgres.url(), prefix=prefix)


def locator_settings(demo: DemoSystems, **overrides: object) -> LocatorSettings:
    values: dict[str, object] = {
        "demo_database_prefix": demo.prefix,
        "locator_system_timeout": 2.0,
        "locator_system_attempts": 2,
        "locator_system_cooldown_seconds": 0.0,
        **overrides,
    }
    return LocatorSettings.model_validate(values)


@pytest.fixture
async def locator(demo: DemoSystems, catalogue: Catalogue) -> AsyncIterator[Locator]:
    located = Locator.from_catalogue(
        catalogue, server_url=demo.server_url, settings=locator_settings(demo), env=demo.env
    )
    yield located
    await located.close()
