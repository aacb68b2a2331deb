"""Manual erasure tasks in the console (the intake app in-process, no browser): the work queue lists
them, the request's page shows what to erase or keep, and "confirm done" (CSRF, a note, the agent
role) records the confirmation under the person's name and lets the plan end."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx

from schemas.requests import RequestSubmission
from services.api.app import configure
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, Connection
from services.console import routes as console_routes
from services.console import sessions
from services.console.accounts import ConsoleRole
from services.erasure.plan import build_plan
from services.erasure.tasks import open_tasks
from services.intake import admission
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.support.serving import serving

SPEC = ServiceSpec("intake", routers=[console_routes.router], configure=configure)
COOKIE = "__Host-dsr_console"  # Secure cookies by default: the `__Host-` name
BODY = {
    "type": "erasure",
    "channel": "phone",
    "subject": {"case_number": "SAK-4711"},
    "verification": {
        "method": "phone_checks",
        "checks": ["national_id", "address", "case_number"],
        "verified_by": "agent-kari",
    },
}


def _manual_telephony() -> Catalogue:
    catalogue = load_catalogue("catalogue")
    systems = dict(catalogue.systems)
    systems["telephony"] = systems["telephony"].model_copy(update={"connection": Connection(engine="manual")})
    return catalogue.model_copy(update={"systems": systems})


async def _waiting_for_an_agent(pool: asyncpg.Pool) -> tuple[uuid.UUID, uuid.UUID, int]:
    """An erasure request whose plan waits for a manual erasure in telephony (as the worker leaves
    it once the automated systems are done): request, plan and task ids."""
    catalogue = _manual_telephony()
    plan = build_plan(
        catalogue,
        [],
        today=datetime.now(UTC).date(),
        manual_systems={"telephony"},
        found_by_agent={"telephony"},
    )
    async with pool.acquire() as conn, conn.transaction():
        result = await admission.submit(conn, RequestSubmission.model_validate(BODY), actor="agent-kari")
        request_id = uuid.UUID(result.view.id)
        await conn.execute("update requests set status = 'fulfilling' where id = $1", request_id)
        plan_id = uuid.uuid4()
        await conn.execute(
            """insert into erasure_plans (id, request_id, kind, status, plan)
               values ($1, $2, 'request', 'approved', $3)""",
            plan_id,
            request_id,
            plan.to_json(),
        )
        assert await open_tasks(conn, plan_id, request_id, plan, now=datetime.now(UTC), days=5) == [
            "telephony"
        ]
        await conn.execute("update erasure_plans set status = 'awaiting_manual' where id = $1", plan_id)
        task_id = await conn.fetchval("select id from manual_tasks where plan_id = $1", plan_id)
    return request_id, plan_id, task_id


@contextlib.asynccontextmanager
async def _console(settings: Settings, port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(SPEC, settings, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def _session(pool: asyncpg.Pool, account: str, role: ConsoleRole) -> sessions.Session:
    async with pool.acquire() as conn:
        return await sessions.start(conn, account, role, now=datetime.now(UTC))


async def test_an_agent_sees_the_task_in_the_queue_and_confirms_it_done(
    pool: asyncpg.Pool, settings: Settings, unused_tcp_port: int
) -> None:
    request_id, plan_id, task_id = await _waiting_for_an_agent(pool)
    agent = await _session(pool, "agent-kari", ConsoleRole.agent)
    ops = await _session(pool, "ops-per", ConsoleRole.ops)
    as_agent = {"cookie": f"{COOKIE}={agent.token}"}
    async with _console(settings, unused_tcp_port) as client:
        queue = await client.get("/console/queue", headers=as_agent)
        assert queue.status_code == 200
        assert (
            "Manuell sletting i telephony" in queue.text and f"/console/requests/{request_id}" in queue.text
        )

        page = await client.get(f"/console/requests/{request_id}", headers=as_agent)
        assert page.status_code == 200
        section = page.text.split('id="manual-erasure-tasks"', 1)[1].split("</section>", 1)[0]
        assert "call_logs" in section and "Slett raden" in section
        assert "case_number" in section and "GDPR Art. 17(3)(e)" in section
        assert f'action="/console/tasks/{task_id}/confirm"' in section
        # The catalogue's words in the case's language (a bokmål request), whatever the agent's own:
        # what the subject is told. The console's labels follow the agent's language.
        call_logs = load_catalogue("catalogue").systems["telephony"]
        hold = call_logs.tables["call_logs"].erasure
        assert hold is not None
        said = (call_logs.title, call_logs.tables["call_logs"].description, hold.holds[0].reason)
        english_page = await client.get(
            f"/console/requests/{request_id}", headers={"cookie": f"{as_agent['cookie']}; dsr_lang=en"}
        )
        english_ui = english_page.text.split('id="manual-erasure-tasks"', 1)[1].split("</section>", 1)[0]
        assert "Delete the row" in english_ui and "Slett raden" not in english_ui
        for shown in (section, english_ui):
            shown = shown.replace("&#39;", "'")
            for text in said:
                assert text.nb in shown and text.en not in shown, text

        path = f"/console/tasks/{task_id}/confirm"
        form = {"csrf": agent.csrf, "note": "Call log shredded", "erased": "1"}
        no_csrf = await client.post(path, data={"note": "x" * 10}, headers=as_agent)
        assert no_csrf.status_code == 403
        wrong_role = await client.post(
            path, data={**form, "csrf": ops.csrf}, headers={"cookie": f"{COOKIE}={ops.token}"}
        )
        assert wrong_role.status_code == 403
        no_note = await client.post(path, data={**form, "note": ""}, headers=as_agent)
        assert no_note.status_code == 303 and no_note.headers["location"].endswith("?error=invalid")
        bad_count = await client.post(path, data={**form, "erased": "-1"}, headers=as_agent)
        assert bad_count.headers["location"].endswith("?error=invalid")
        assert await pool.fetchval("select status from manual_tasks where id = $1", task_id) == "open"

        done = await client.post(path, data=form, headers=as_agent)
        assert (
            done.status_code == 303
            and done.headers["location"] == f"/console/requests/{request_id}?notice=done"
        )
        again = await client.post(path, data=form, headers=as_agent)
        assert again.headers["location"].endswith("?error=conflict")

        task = await pool.fetchrow(
            "select status, answered_by, answer from manual_tasks where id = $1", task_id
        )
        assert (task["status"], task["answered_by"]) == ("done", "agent-kari")
        assert task["answer"] == {"note": "Call log shredded", "counts": {"erased": 1}}
        assert await pool.fetchval("select status from erasure_plans where id = $1", plan_id) == "approved"
        [event] = await pool.fetch(
            "select actor, detail from audit_events where request_id = $1 and action = 'erasure.manual_confirmed'",
            request_id,
        )
        assert event["actor"] == "agent-kari" and event["detail"]["system"] == "telephony"

        queue = await client.get("/console/queue", headers=as_agent)
        assert "Manuell sletting i telephony" not in queue.text
        page = await client.get(f"/console/requests/{request_id}", headers=as_agent)
        assert "Bekreftet av agent-kari" in page.text and path not in page.text

        # A plan waiting for a system that cannot be reached names it on the page.
        await pool.execute(
            """update erasure_plans set unreachable_system = 'crm', unreachable_since = now(), attempts = 2,
                      next_attempt_at = now() + interval '10 seconds' where id = $1""",
            plan_id,
        )
        page = await client.get(f"/console/requests/{request_id}", headers=as_agent)
        unreachable = page.text.split('id="unreachable"', 1)[1].split("</span>", 1)[0]
        assert "crm" in unreachable and "Forsøk: 2" in unreachable
