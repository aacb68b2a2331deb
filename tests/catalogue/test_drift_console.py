"""The drift findings in the console: the DPO's work queue names each system with undescribed
personal data and links to the drift page, which lists every open finding with the scaffold's
suggestion (counts, no values); operations see the page too; an agent is refused it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from services.api.app import SPEC as FULL
from services.api.app import configure
from services.authority import Role
from services.catalogue.drift import store
from services.catalogue.drift.findings import CheckOutcome, DriftKind, Finding, SystemCheck
from services.console import sessions
from services.console.accounts import ConsoleRole
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)
COOKIE = "__Host-dsr_console"

BACKUP = Finding(
    "crm",
    DriftKind.undescribed_column,
    "contacts",
    "backup_email",
    True,
    {
        "type": "text",
        "db_type": "TEXT",
        "personal": True,
        "suggestion": {
            "identifier": "email",
            "categories": ["user.contact.email"],
            "free_text": False,
            "evidence": ["20 of 20 sampled values are email addresses"],
        },
    },
)
RETYPED = Finding(
    "crm", DriftKind.type_changed, "contacts", "agent", False, {"catalogued": "text", "live": "integer"}
)


@dataclass
class Console:
    client: httpx.AsyncClient
    signed_in: dict[Role, sessions.Session]

    async def get(self, role: Role, path: str, lang: str = "en") -> httpx.Response:
        token = self.signed_in[role].token
        return await self.client.get(path, headers={"cookie": f"{COOKIE}={token}; dsr_lang={lang}"})


@pytest.fixture
async def console(settings: Settings, pool: asyncpg.Pool, unused_tcp_port: int) -> AsyncIterator[Console]:
    async with pool.acquire() as conn, conn.transaction():
        await store.record(
            conn,
            [
                SystemCheck("crm", CheckOutcome.checked, [BACKUP, RETYPED]),
                SystemCheck("marketing", CheckOutcome.not_checkable, reason="http_system"),
            ],
            catalogued=["crm", "marketing"],
        )
        await conn.execute("update catalogue_drift_schedule set last_finished_at = now()")
        signed_in = {
            role: await sessions.start(conn, f"{role}-drift", ConsoleRole(role.value), now=datetime.now(UTC))
            for role in (Role.agent, Role.ops, Role.dpo)
        }
    async with serving(INTAKE, settings, unused_tcp_port) as url, httpx.AsyncClient(base_url=url) as client:
        yield Console(client, signed_in)


async def test_the_dpo_sees_drift_in_the_work_queue_and_every_finding_on_the_drift_page(
    console: Console,
) -> None:
    queue = await console.get(Role.dpo, "/console/queue")
    assert queue.status_code == 200
    assert 'id="drift-queue"' in queue.text and 'data-system="crm"' in queue.text
    assert "1 finding(s), personal data the catalogue does not describe" in queue.text
    assert 'href="/console/drift"' in queue.text

    page = await console.get(Role.dpo, "/console/drift")
    assert page.status_code == 200
    personal = page.text.split('id="drift-personal"', 1)[1].split('id="drift-other"', 1)[0]
    assert "crm.contacts.backup_email" in personal and "email address" in personal
    assert "20 of 20 sampled values are email addresses" in personal
    other = page.text.split('id="drift-other"', 1)[1].split('id="drift-systems"', 1)[0]
    assert "crm.contacts.agent" in other and "text → integer" in other
    systems = page.text.split('id="drift-systems"', 1)[1]
    assert "not checkable" in systems and "http_system" in systems

    norsk = await console.get(Role.dpo, "/console/drift", lang="nb")
    assert "Personopplysninger uten beskrivelse" in norsk.text and "e-postadresse" in norsk.text


async def test_operations_see_the_drift_page_and_an_agent_neither_the_page_nor_the_queue_entry(
    console: Console,
) -> None:
    assert (await console.get(Role.ops, "/console/drift")).status_code == 200
    assert (await console.get(Role.agent, "/console/drift")).status_code == 403
    queue = await console.get(Role.agent, "/console/queue")
    assert queue.status_code == 200 and 'id="drift-queue"' not in queue.text
    assert 'href="/console/drift"' not in queue.text  # nor in the agent's navigation


async def test_a_resolved_drift_leaves_the_queue(console: Console, pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await store.record(
            conn, [SystemCheck("crm", CheckOutcome.checked, [])], catalogued=["crm", "marketing"]
        )
    queue = await console.get(Role.dpo, "/console/queue")
    assert 'id="drift-queue"' not in queue.text
    page = await console.get(Role.dpo, "/console/drift")
    assert "None: the catalogue describes all personal data the check found." in page.text
