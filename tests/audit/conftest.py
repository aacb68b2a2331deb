"""The showcase subjects' source systems (no generated people) and a locator over them, for exports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.demo.loader import DemoSystems, create_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.locate import Locator
from tests.locator.conftest import locator_settings


@pytest.fixture(scope="session")
def showcase_catalogue() -> Catalogue:
    return load_catalogue("catalogue")


@pytest.fixture(scope="session")
async def showcase_systems(postgres: EmbeddedPostgres) -> DemoSystems:
    """The showcase subjects under the catalogue's own names: tests/pipeline's load, reused when it ran first."""
    return await create_demo_systems(postgres.url(), subjects=0, seed=1)


@pytest.fixture
async def showcase_locator(
    showcase_systems: DemoSystems, showcase_catalogue: Catalogue
) -> AsyncIterator[Locator]:
    located = Locator.from_catalogue(
        showcase_catalogue,
        server_url=showcase_systems.server_url,
        settings=locator_settings(showcase_systems),
        env=showcase_systems.env,
    )
    yield located
    await located.close()
