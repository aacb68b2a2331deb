"""The role-by-route walk (issue 22): every route of the API (its OpenAPI document) and of the console,
called by every role, answers as the product's one authority table (`services/authority.py`) says.

A route that declares no action and is not listed as public fails the walk, so a new route cannot
slip in without an entry. A refused call is a 403 with the reason and changes nothing; an allowed
one is never refused (its answer may still be 404, 409 or 422: the role passed).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.app import SPEC as FULL
from services.api.app import configure
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.authority import (
    AUTHORITY,
    CONSOLE_ROLES,
    NOT_OWN,
    PUBLIC_ROUTES,
    Action,
    Reach,
    Role,
    markdown_table,
    reach,
    routes,
)
from services.console import sessions
from services.console.accounts import ConsoleRole
from services.runtime.host import ServiceSpec, create_service_app
from services.runtime.settings import Settings
from tests.intake.helpers import PHONE_CHECKS, SECRETS, auth, person, submission
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)  # every route, no consumers

COOKIE = "__Host-dsr_console"  # Secure cookies by default: the `__Host-` name


@dataclass
class World:
    client: httpx.AsyncClient
    pool: asyncpg.Pool
    theirs: uuid.UUID  # an agent's waiting web-form request: a system key does not own it
    mine: uuid.UUID  # a request the system key submitted
    artifact: uuid.UUID  # an artifact of `theirs`
    sessions: dict[Role, sessions.Session]


@pytest.fixture
async def world(settings: Settings, pool: asyncpg.Pool, unused_tcp_port: int) -> AsyncIterator[World]:
    async with (
        serving(INTAKE, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        waiting = await client.post(
            "/v1/requests",
            json=submission(channel="web_form", subject={"national_id": person(3)}),
            headers=auth("agent"),
        )
        assert waiting.status_code == 202, waiting.text
        own = await client.post(
            "/v1/requests",
            json=submission(channel="web_form", subject={"national_id": person(4)}),
            headers=auth("system"),
        )
        assert own.status_code == 202, own.text
        theirs = uuid.UUID(waiting.json()["id"])
        async with pool.acquire() as conn, conn.transaction():
            artifact = await ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)).put(
                conn,
                request_id=theirs,
                kind=ArtifactKind.extract_html,
                media_type="text/html; charset=utf-8",
                filename="extract.html",
                content=b"<p>extract</p>",
                actor="fulfilment",
            )
            signed_in = {
                role: await sessions.start(
                    conn, f"{role}-walker", ConsoleRole(role.value), now=datetime.now(UTC)
                )
                for role in CONSOLE_ROLES
            }
        yield World(client, pool, theirs, uuid.UUID(own.json()["id"]), artifact, signed_in)


def _url(path: str, world: World, request_id: uuid.UUID) -> str:
    values = {"request_id": str(request_id), "artifact_id": str(world.artifact)}
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), path)


# Well-formed bodies, so that only the caller's role can make a call fail.
API_BODIES: dict[str, dict[str, Any]] = {
    "/v1/requests": submission(subject={"national_id": person(7)}),
    "/v1/requests/{request_id}/verification": PHONE_CHECKS,
    "/v1/requests/{request_id}/extension": {"months": 1, "reason": "Many systems hold data on this subject."},
    "/v1/requests/{request_id}/cancel": {"reason": "withdrawn by the subject"},
    "/v1/requests/{request_id}/review": {"decision": "release", "reason": "The subject gave it to us."},
    "/v1/requests/{request_id}/plan/approve": {"note": "checked"},
    "/v1/requests/{request_id}/plan/reject": {"reason": "Not the subject."},
    "/v1/requests/{request_id}/objection/decision": {
        "upheld": True,
        "outcome": "erase",
        "reason": "Legitimate interest does not outweigh.",
    },
    "/v1/suppressions/check": {"email": "kari@example.no"},
}


async def _state(pool: asyncpg.Pool) -> tuple[Any, ...]:
    """Everything a refused call could have changed."""
    return (
        await pool.fetch(
            "select id, status, due_date, extension_months, assurance from requests order by id"
        ),
        await pool.fetchval("select count(*) from request_status_history"),
        await pool.fetchval("select count(*) from audit_events"),
        await pool.fetchval("select count(*) from download_tokens"),
        await pool.fetchval("select count(*) from outbox"),
    )


def test_every_route_declares_an_action_or_is_public(settings: Settings) -> None:
    """The walk's premise: nothing is served that the table does not speak of."""
    served = routes(create_service_app(INTAKE, settings))
    unlisted = [(m, p) for m, p, action in served if action is None and (m, p) not in PUBLIC_ROUTES]
    assert not unlisted, f"routes without an authority action or a PUBLIC_ROUTES entry: {unlisted}"
    guarded_and_public = [(m, p) for m, p, action in served if action is not None and (m, p) in PUBLIC_ROUTES]
    assert not guarded_and_public
    stale = set(PUBLIC_ROUTES) - {(m, p) for m, p, _ in served}
    assert not stale, f"PUBLIC_ROUTES names routes nobody serves: {stale}"
    used = {action for _, _, action in served if action is not None}
    assert used == set(Action), f"actions no route takes: {set(Action) - used}"


async def test_every_api_route_answers_every_role_as_the_table_says(world: World) -> None:
    openapi = (await world.client.get("/openapi.json")).json()
    operations = sorted((m.upper(), p) for p, item in openapi["paths"].items() for m in item)
    declared = {(m, p): action for m, p, action in routes(create_service_app(INTAKE, Settings()))}
    walked = 0
    for method, path in operations:
        action = declared.get((method, path))
        if (method, path) in PUBLIC_ROUTES:
            continue
        assert action is not None, f"{method} {path} is in the OpenAPI document without an action"
        url = _url(path, world, world.theirs)
        body = API_BODIES.get(path)
        params = {"idempotency_key": "walk-key"} if path == "/v1/requests" else {}
        anonymous = await world.client.request(method, url, json=body, params=params)
        assert anonymous.status_code == 401, (method, path)
        forged = {"Authorization": "Bearer " + SECRETS["dpo"][:-1] + "X"}
        assert (
            await world.client.request(method, url, json=body, params=params, headers=forged)
        ).status_code == 401
        # refused roles first (they must change nothing), then the allowed ones
        for role in sorted(Role, key=lambda r: reach(r, action) is not None):
            given = reach(role, action)
            before = await _state(world.pool)
            answer = await world.client.request(method, url, json=body, params=params, headers=auth(role))
            walked += 1
            if given is None:
                assert answer.status_code == 403, (method, path, role, answer.status_code)
                assert answer.json()["detail"].startswith(f"role {role} may not"), answer.text
                assert await _state(world.pool) == before, (
                    f"a refused {role} call of {method} {path} changed something"
                )
            elif given is Reach.own and "{request_id}" in path:
                assert answer.status_code == 403, (method, path, role)
                assert answer.json()["detail"] == NOT_OWN
                assert await _state(world.pool) == before, (method, path, role)
                own = await world.client.request(
                    method, _url(path, world, world.mine), json=body, params=params, headers=auth(role)
                )
                assert own.status_code not in (401, 403), (method, path, role, own.text)
            else:
                assert answer.status_code not in (401, 403), (method, path, role, answer.text)
    assert walked >= 4 * 16


async def test_every_console_route_answers_every_role_as_the_table_says(world: World) -> None:
    console = [
        (m, p, a)
        for m, p, a in routes(create_service_app(INTAKE, Settings()))
        if p.startswith(("/console", "/sla")) and (m, p) not in PUBLIC_ROUTES
    ]
    assert len(console) >= 25
    for method, path, action in console:
        assert action is not None, f"{method} {path}: a console route without an action"
        url = _url(path, world, world.theirs)
        nobody = await world.client.request(method, url, data={"csrf": "x"} if method == "POST" else None)
        assert nobody.status_code == (303 if method == "GET" else 401), (method, path, nobody.status_code)
        for role in sorted(CONSOLE_ROLES, key=lambda r: reach(r, action) is not None):
            session = world.sessions[role]
            before = await _state(world.pool)
            answer = await world.client.request(
                method,
                url,
                data={"csrf": session.csrf, "reason": "A reason of more than ten characters."}
                if method == "POST"
                else None,
                headers={"cookie": f"{COOKIE}={session.token}"},
            )
            if reach(role, action) is None:
                assert answer.status_code == 403, (method, path, role, answer.status_code)
                after = await _state(world.pool)
                assert after == before, f"a refused {role} call of {method} {path} changed something"
            else:
                assert answer.status_code not in (401, 403), (method, path, role, answer.status_code)


def test_the_dpo_may_do_all_an_agent_or_operations_may_and_decides_alone() -> None:
    for action, rule in AUTHORITY.items():
        for role in (Role.agent, Role.ops):
            if rule.reach(role) is not None:
                assert rule.reach(Role.dpo) is Reach.every, (action, role)
    for action in (Action.decide_plan, Action.decide_objection, Action.release_special, Action.refuse):
        assert set(AUTHORITY[action].who) == {Role.dpo}
    assert {r.value for r in ConsoleRole} == {r.value for r in CONSOLE_ROLES}


def test_the_readme_says_what_each_role_may_do() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Security: who may do what", 1)[1].split("\n## ", 1)[0]
    assert markdown_table() in section, "README's role table differs from services/authority.py"
