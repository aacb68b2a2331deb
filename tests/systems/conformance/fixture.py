"""What each engine's fixture must offer the conformance suite. The data every engine's fixture
loads is the sample system's (`services/systems/sample.py`: `ROWS` in `fixture_system(...)`)."""

from __future__ import annotations

from typing import Any, Protocol

from services.catalogue.model import Catalogue
from services.systems.contract import SourceSystem
from services.systems.guard import Limits


class EngineFixture(Protocol):
    """What one engine's fixture gives the conformance suite (one per engine, session-scoped)."""

    engine: str
    catalogue: Catalogue
    """`fixture_catalogue(...)` with this engine's connection."""

    async def restore(self) -> None:
        """Put `ROWS` back exactly (as a restore from backup would), whatever the tests changed."""

    def adapter(self, limits: Limits | None = None) -> SourceSystem:
        """A new adapter for the fixture system (through `SourceSystems`, as the services build it),
        asking it under `limits` (default: the services' own)."""

    async def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        """table -> primary key (text) -> row, read straight from the server (not through the
        adapter), as Python values of the catalogue's types: what the suite checks effects on."""

    async def stop_server(self) -> None:
        """Make the system unreachable (stop the server, or close its port) until `start_server`."""

    async def start_server(self) -> None: ...
