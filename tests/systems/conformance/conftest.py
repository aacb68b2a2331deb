"""`engine_fixture`: every conformance test runs once per engine in `engines.ENGINE_FACTORIES`
(each engine's server started once per session, the fixture data restored before each test)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.systems.conformance.engines import ENGINE_FACTORIES
from tests.systems.conformance.fixture import EngineFixture


@pytest.fixture(scope="session", params=list(ENGINE_FACTORIES), ids=list(ENGINE_FACTORIES))
async def engine_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[EngineFixture]:
    async with ENGINE_FACTORIES[request.param](request, tmp_path_factory) as fixture:
        yield fixture
