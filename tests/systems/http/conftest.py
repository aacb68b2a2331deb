"""Servers for the HTTP engine's tests (real uvicorn servers on loopback, once per session) and
adapters built the way the services build them (`SourceSystems` from a catalogue)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue, System
from services.demo.newsletter_api import NewsletterStore, create_app
from services.systems.guard import Limits
from services.systems.http import HttpSystem
from services.systems.registry import SourceSystems
from tests.systems.http.servers import Lab, ThreadServer

EXAMPLE = DEFAULT_CATALOGUE / "examples" / "newsletter_saas.yaml"
NEWSLETTER = "newsletter_saas"
NEWSLETTER_TOKEN = "newsletter-demo-token"
FAST = Limits(timeout=2.0, attempts=2, backoff=0.01, cooldown=0.0, connections=4)


def t(day: int, hour: int = 12) -> datetime:
    return datetime(2025, 3, day, hour, 0, tzinfo=UTC)


KARI = "kari@example.no"
OLA = "ola@example.no"
KARI_PHONE = "+4791234567"
PER = "per@example.no"
PER_PHONE = "+4790000300"


def newsletter_rows() -> dict[str, list[dict[str, Any]]]:
    """Marketing rows as the demo loader would give them: Kari has 130 subscriptions (two pages
    of 100), sign-ups by email and by phone, downloads and survey answers over several pages."""
    subscriptions = [
        {"id": n, "email": KARI, "name": "Kari Nordmann", "newsletter": f"Nytt {n}", "subscribed_at": t(1),
         "consent_text": "Ja takk.", "unsubscribed_at": None, "restricted": False}
        for n in range(1, 131)
    ]  # fmt: skip
    subscriptions += [
        {"id": 200, "email": OLA, "name": "Ola Nordmann", "newsletter": "Kundeavisen", "subscribed_at": t(2),
         "consent_text": "Ja.", "unsubscribed_at": t(3), "restricted": False},
        {"id": 201, "email": "kari@example.no.evil", "name": "Not Kari", "newsletter": "Kundeavisen",
         "subscribed_at": t(2), "consent_text": "Ja.", "unsubscribed_at": None, "restricted": False},
    ]  # fmt: skip
    signups = [
        {"id": 1, "event": "Webinar", "email": KARI, "name": "Kari Nordmann", "phone": None,
         "organisation": "Nordmann AS", "signed_up_at": t(4), "attended": True, "restricted": False},
        {"id": 2, "event": "Kundedag", "email": "kari.work@example.no", "name": "Kari Nordmann",
         "phone": KARI_PHONE, "organisation": None, "signed_up_at": t(5), "attended": False, "restricted": False},
        {"id": 3, "event": "Kundedag", "email": OLA, "name": "Ola Nordmann", "phone": None,
         "organisation": None, "signed_up_at": t(5), "attended": False, "restricted": False},
    ]  # fmt: skip
    signups += [
        {"id": 10 + n, "event": f"Kurs {n}", "email": KARI, "name": "Kari Nordmann", "phone": None,
         "organisation": None, "signed_up_at": t(6), "attended": False, "restricted": False}
        for n in range(110)
    ]  # fmt: skip
    downloads = [
        {
            "id": n,
            "email": KARI if n % 2 else OLA,
            "asset": f"Guide {n}",
            "downloaded_at": t(7),
            "restricted": False,
        }
        for n in range(1, 241)
    ]
    responses = [
        {"id": n, "email": KARI, "survey": "NPS", "answers": f"Score {n % 10}", "responded_at": t(8),
         "restricted": False}
        for n in range(1, 251)
    ]  # fmt: skip
    subscriptions.append(
        {"id": 300, "email": PER, "name": "Per Hansen", "newsletter": "Kundeavisen", "subscribed_at": t(9),
         "consent_text": "Ja.", "unsubscribed_at": None, "restricted": False}
    )  # fmt: skip
    signups.append(
        {"id": 300, "event": "Kundedag", "email": "per.work@example.no", "name": "Per Hansen", "phone": PER_PHONE,
         "organisation": None, "signed_up_at": t(9), "attended": True, "restricted": False}
    )  # fmt: skip
    downloads += [
        {"id": 300 + n, "email": PER, "asset": "Guide", "downloaded_at": t(9), "restricted": False}
        for n in range(3)
    ]
    responses.append(
        {
            "id": 300,
            "email": PER,
            "survey": "NPS",
            "answers": "Score 9",
            "responded_at": t(9),
            "restricted": False,
        }
    )
    return {
        "newsletter_subscriptions": subscriptions,
        "event_signups": signups,
        "downloads": downloads,
        "survey_responses": responses,
    }


def catalogue_with(root: Path, *files: tuple[Path, str]) -> Path:
    """A copy of the shipped catalogue (without its examples) with `files` added as systems."""
    shutil.copytree(DEFAULT_CATALOGUE, root, ignore=shutil.ignore_patterns("examples"))
    for source, name in files:
        shutil.copy(source, root / "systems" / f"{name}.yaml")
    return root


@pytest.fixture(scope="session")
def newsletter_catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    root = catalogue_with(tmp_path_factory.mktemp("newsletter") / "catalogue", (EXAMPLE, NEWSLETTER))
    return load_catalogue(root)


class Newsletter:
    """The demo newsletter API on a port of its own, its data in an SQLite file."""

    def __init__(self, data: Path, *, rate: float | None = None, burst: int | None = None) -> None:
        self.data = data
        self.store = NewsletterStore(data)
        self.server = ThreadServer(create_app(self.store, NEWSLETTER_TOKEN, rate=rate, burst=burst))

    def load(self) -> None:
        self.store.load(newsletter_rows(), replace=True)

    @property
    def env(self) -> dict[str, str]:
        return {"NEWSLETTER_API_URL": self.server.url, "NEWSLETTER_API_TOKEN": NEWSLETTER_TOKEN}


@pytest.fixture(scope="session")
def newsletter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsletter]:
    api = Newsletter(tmp_path_factory.mktemp("newsletter-data") / "newsletter.sqlite3")
    api.load()
    api.server.start()
    yield api
    api.server.stop()
    api.store.close()


@pytest.fixture
def newsletter(newsletter_server: Newsletter) -> Newsletter:
    """The demo API with its rows as loaded (whatever the test before changed)."""
    newsletter_server.load()
    return newsletter_server


@pytest.fixture
async def newsletter_adapter(
    newsletter: Newsletter, newsletter_catalogue: Catalogue
) -> AsyncIterator[HttpSystem]:
    systems = SourceSystems(newsletter_catalogue, server_url=None, limits=FAST, env=newsletter.env)
    adapter = systems[NEWSLETTER]
    assert isinstance(adapter, HttpSystem)
    yield adapter
    await systems.close()


# ------------------------------------------------------------------------------------------- lab

PEOPLE_TABLE: dict[str, Any] = {
    "description": {"nb": "Personer.", "en": "People."},
    "purpose": {"nb": "Å teste HTTP-motoren.", "en": "Testing the HTTP engine."},
    "legal_basis": ["6(1)(f)"],
    "sources": ["the_subject"],
    "primary_key": ["id"],
    "retention": {
        "kind": "purpose",
        "description": {"nb": "Lagres mens vi tester.", "en": "Kept while testing."},
    },
    "erasure": {"strategy": "delete_row"},
    "restriction": {"column": "restricted"},
    "columns": {
        "id": {"type": "bigint", "categories": ["system.key"]},
        "email": {"type": "text", "categories": ["user.contact.email"], "identifier": "email"},
        "name": {"type": "text", "categories": ["user.identity.name"], "rectifiable": True},
        "restricted": {"type": "boolean", "categories": ["system.processing"]},
    },
}


def people_api(mode: str, **extra: Any) -> dict[str, Any]:
    """An `api:` for the lab's people answering as `mode` says (see `Lab`)."""
    resource = {
        "search": [
            {
                "by": "email",
                "path": f"/{mode}/people",
                "query": {"email": "{values}"},
                "records": "data",
                "pagination": {"kind": "page", "next": "meta.next_page"},
            }
        ],
        "read": {"path": f"/{mode}/people/{{key}}", "record": "data"},
        "delete": {"path": f"/{mode}/people/{{key}}"},
        "update": {"path": f"/{mode}/people/{{key}}"},
        "restrict": {"path": f"/{mode}/people/{{key}}"},
    }
    resource |= extra.pop("resource", {})
    return {"resources": {"people": resource}, **extra}


def lab_system(api: dict[str, Any], id_type: str = "bigint") -> System:
    table = {
        **PEOPLE_TABLE,
        "columns": {**PEOPLE_TABLE["columns"], "id": {"type": id_type, "categories": ["system.key"]}},
    }
    return System.model_validate(
        {
            "title": {"nb": "Lab", "en": "Lab"},
            "description": {
                "nb": "Et API laget for å oppføre seg dårlig når vi ber om det.",
                "en": "A purpose-built API that misbehaves on request.",
            },
            "connection": {"engine": "http", "env": "LAB_URL"},
            "role": {"kind": "controller"},
            "api": api,
            "tables": {"people": table},
        }
    )


def lab_catalogue(api: dict[str, Any], id_type: str = "bigint") -> Catalogue:
    base = load_catalogue(DEFAULT_CATALOGUE)
    return Catalogue(taxonomy=base.taxonomy, parties=base.parties, systems={"lab": lab_system(api, id_type)})


@pytest.fixture(scope="session")
def lab_server() -> Iterator[tuple[Lab, ThreadServer]]:
    lab = Lab()
    server = ThreadServer(lab.app).start()
    yield lab, server
    server.stop()


@pytest.fixture
def lab(lab_server: tuple[Lab, ThreadServer]) -> Lab:
    lab_server[0].reset()
    return lab_server[0]


class LabAdapters:
    """Builds adapters for the lab (closed at the end of the test)."""

    def __init__(self, server: ThreadServer) -> None:
        self.server = server
        self.systems: list[SourceSystems] = []

    def __call__(
        self,
        api: dict[str, Any],
        *,
        limits: Limits = FAST,
        env: dict[str, str] | None = None,
        id_type: str = "bigint",
    ) -> HttpSystem:
        systems = SourceSystems(
            lab_catalogue(api, id_type),
            server_url=None,
            limits=limits,
            env={"LAB_URL": self.server.url, **(env or {})},
        )
        self.systems.append(systems)
        adapter = systems["lab"]
        assert isinstance(adapter, HttpSystem)
        return adapter


@pytest.fixture
async def lab_adapter(lab: Lab, lab_server: tuple[Lab, ThreadServer]) -> AsyncIterator[LabAdapters]:
    adapters = LabAdapters(lab_server[1])
    yield adapters
    for systems in adapters.systems:
        await systems.close()
