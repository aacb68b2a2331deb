"""The data every engine's fixture loads, and what each engine's fixture must offer the suite.

Three customers; Kari (id 1) has two cases, one with two letters; Ola (id 2) has one case; the
third customer shares nothing with either. Values are stored normalised, as the pipeline's are.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import yaml

from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, Connection, System
from services.systems.contract import SourceSystem
from services.systems.guard import Limits

SYSTEM = "fixture"
SYSTEM_FILE = Path(__file__).with_name("fixture_system.yaml")

KARI_ID = "15076500565"
OLA_ID = "01017012345"

ROWS: dict[str, list[dict[str, Any]]] = {
    "customers": [
        {
            "id": 1,
            "customer_number": "K-1001",
            "national_id": KARI_ID,
            "email": "kari@example.no",
            "phone": "+4791234567",
            "name": "Kari Nordmann",
            "born_on": date(1965, 7, 15),
            "restricted": False,
        },
        {
            "id": 2,
            "customer_number": "K-1002",
            "national_id": OLA_ID,
            "email": "ola@example.no",
            "phone": "+4798765432",
            "name": "Ola O'Brien",
            "born_on": date(1970, 1, 1),
            "restricted": False,
        },
        {
            "id": 3,
            "customer_number": "K-1003",
            "national_id": None,
            "email": "third@example.no",
            "phone": None,
            "name": "Tredje Person",
            "born_on": None,
            "restricted": False,
        },
    ],
    "cases": [
        {
            "id": 10,
            "case_number": "S-2001",
            "customer_id": 1,
            "amount": Decimal("1250.50"),
            "opened_at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
            "closed_on": None,
            "restricted": False,
        },
        {
            "id": 11,
            "case_number": "S-2002",
            "customer_id": 1,
            "amount": Decimal("80.00"),
            "opened_at": datetime(2020, 5, 2, 12, 0, tzinfo=UTC),
            "closed_on": date(2021, 1, 31),
            "restricted": False,
        },
        {
            "id": 12,
            "case_number": "S-2003",
            "customer_id": 2,
            "amount": Decimal("999.99"),
            "opened_at": datetime(2025, 1, 10, 8, 0, tzinfo=UTC),
            "closed_on": None,
            "restricted": False,
        },
    ],
    "letters": [
        {"id": 100, "case_id": 10, "body": "Varsel om inkasso", "sent_on": date(2024, 3, 2)},
        {"id": 101, "case_id": 10, "body": "Betalingsoppfordring", "sent_on": date(2024, 4, 2)},
        {"id": 102, "case_id": 11, "body": "Sluttbrev", "sent_on": date(2021, 2, 1)},
        {"id": 103, "case_id": 12, "body": "Varsel om inkasso", "sent_on": date(2025, 1, 11)},
    ],
}
"""Rows as Python values of the catalogue's column types (what `read` must give back)."""

TABLE_ORDER = ("customers", "cases", "letters")
"""Parents before children (load in this order, drop in the reverse)."""


def fixture_system(connection: dict[str, Any], **extra: Any) -> System:
    """The fixture system with an engine's own `connection` (and extra fields such as `api`)."""
    raw = yaml.safe_load(SYSTEM_FILE.read_text(encoding="utf-8"))
    raw["connection"] = Connection.model_validate(connection).model_dump(exclude_none=True)
    raw.update(extra)
    return System.model_validate(raw)


def fixture_catalogue(system: System) -> Catalogue:
    """The project's taxonomy and parties with the fixture system as its only system."""
    base = load_catalogue(Path(__file__).resolve().parents[3] / "catalogue")
    return Catalogue(taxonomy=base.taxonomy, parties=base.parties, systems={SYSTEM: system})


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
