"""Access control under abuse: no path to an artifact's content but a one-time link, links that cannot
be raced, guessed, derived from the database or replayed, and no role doing another role's actions.

Complements tests/intake/test_downloads.py (a link works once, a tampered or expired link fails) and
tests/intake/test_validation.py (401 without a key, ops cannot submit) without repeating them.
"""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.intake.app import SPEC as INTAKE
from services.intake.app import configure
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.helpers import PHONE_CHECKS, SECRETS, auth, person, submission
from tests.support.serving import serving

SECRET_CONTENT = b'{"records": [{"marker": "ARTIFACT-PLAINTEXT-7f3a"}]}'
MARKER = "ARTIFACT-PLAINTEXT-7f3a"

# Who may call what on the public API (the intake service's routes). The one-time download link
# needs no key: the token is the credential.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/requests"): {"system", "agent"},
    ("GET", "/v1/requests"): {"system", "agent", "ops"},
    ("GET", "/v1/requests/{request_id}"): {"system", "agent", "ops"},
    ("POST", "/v1/requests/{request_id}/verification"): {"system", "agent"},
    ("POST", "/v1/requests/{request_id}/extension"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/cancel"): {"system", "agent"},
    ("GET", "/v1/requests/{request_id}/artifacts"): {"agent", "ops"},
    ("GET", "/v1/requests/{request_id}/audit-export"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/review"): {"agent", "ops"},
    ("GET", "/v1/requests/{request_id}/plan"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/plan/approve"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/plan/reject"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/objection/decision"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/restriction/announce-lift"): {"agent", "ops"},
    ("POST", "/v1/requests/{request_id}/restriction/lift"): {"agent", "ops"},
    ("POST", "/v1/suppressions/check"): {"system", "agent", "ops"},
}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/v1/downloads/{token}", "/openapi.json", "/docs", "/redoc"}
# The data subject's pages: no key by design (abuse limits, one-time tokens and status secrets guard
# them; tests/public); /demo/mail exists only under `dsr up --demo`.
PUBLIC |= {"/request", "/status", "/verify/{token}", "/download/{token}", "/demo/mail"}


@pytest.fixture
async def client(settings: Settings, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The intake's HTTP routes in-process on a real port (no Kafka consumers needed here)."""
    spec = ServiceSpec("intake", routers=INTAKE.routers, configure=configure)
    async with (
        serving(spec, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        yield c


async def _request_with_artifact(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> uuid.UUID:
    created = await client.post("/v1/requests", json=submission(), headers=auth("agent"))
    assert created.status_code == 202, created.text
    request_id = uuid.UUID(created.json()["id"])
    async with pool.acquire() as conn, conn.transaction():
        await ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)).put(
            conn,
            request_id=request_id,
            kind=ArtifactKind.extract_json,
            media_type="application/json",
            filename="extract.json",
            content=SECRET_CONTENT,
            actor="fulfilment",
        )
    return request_id


async def _link(client: httpx.AsyncClient, request_id: uuid.UUID) -> str:
    [link] = (await client.get(f"/v1/requests/{request_id}/artifacts", headers=auth("agent"))).json()
    return str(link["download_url"])


async def test_a_link_raced_by_twenty_clients_gives_the_file_once(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    link = await _link(client, await _request_with_artifact(client, settings, pool))
    async with httpx.AsyncClient(timeout=30) as anonymous:
        answers = await asyncio.gather(*(anonymous.get(link) for _ in range(20)))
    assert sorted(a.status_code for a in answers) == [200] + [410] * 19
    assert await pool.fetchval("select count(*) from audit_events where action = 'artifact_downloaded'") == 1


def _tokens() -> list[str]:
    """Guesses of a token: well-formed random ones, and shapes a path parser might mishandle."""
    found: list[str] = []
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    shapes = st.one_of(
        st.text(alphabet=alphabet, min_size=20, max_size=100),
        st.text(min_size=1, max_size=120).filter(lambda t: "/" not in t and t not in (".", "..")),
        st.sampled_from(["..%2F..%2Fetc%2Fpasswd", "%00" * 30, "A" * 43 + "%0a", "*" * 43, "A" * 10_000]),
    )

    @settings(max_examples=60, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(shapes)
    def collect(token: str) -> None:
        found.append(token)

    collect()
    return found


async def test_guessed_or_derived_tokens_never_open_an_artifact(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    request_id = await _request_with_artifact(client, settings, pool)
    link = await _link(client, request_id)
    stored = await pool.fetchval("select token_hash from download_tokens")
    derived = [
        base64.urlsafe_b64encode(stored).decode().rstrip("="),  # the hash the database holds, as a token
        stored.hex(),
        *SECRETS.values(),  # an API key is no token
        str(request_id).replace("-", "") + "A" * 10,
    ]
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=30) as anonymous:
        for token in [*derived, *_tokens()]:
            response = await anonymous.get(f"/v1/downloads/{quote(token, safe='%')}")
            assert response.status_code in (404, 422), (token[:50], response.status_code)
            assert MARKER not in response.text
        # a key holder cannot fetch a link's file any other way: no other route returns its content
        for (method, path), roles in ALLOWED.items():
            if method != "GET":
                continue
            for role in roles:
                response = await client.get(
                    path.format(request_id=request_id), headers=auth(role), params={"idempotency_key": "x"}
                )
                assert MARKER not in response.text, (path, role)
                assert MARKER.encode() not in response.content
        # and the link, still unused after all that, works once
        assert (await anonymous.get(link)).content == SECRET_CONTENT
        assert (await anonymous.get(link)).status_code == 410


async def _state(pool: asyncpg.Pool) -> tuple[Any, ...]:
    """Everything a forbidden call could have changed."""
    return (
        await pool.fetch(
            "select id, status, due_date, extension_months, assurance from requests order by id"
        ),
        await pool.fetchval("select count(*) from audit_events"),
        await pool.fetchval("select count(*) from download_tokens"),
        await pool.fetchval("select count(*) from outbox"),
    )


def _call(path: str, request_id: uuid.UUID) -> tuple[str, dict[str, Any] | None, dict[str, str]]:
    """A well-formed call of each operation, so that only the caller's role can make it fail."""
    url = path.format(request_id=request_id)
    bodies: dict[str, dict[str, Any]] = {
        "/v1/requests": submission(subject={"national_id": person(7)}),
        "/v1/requests/{request_id}/verification": PHONE_CHECKS,
        "/v1/requests/{request_id}/extension": {
            "months": 1,
            "reason": "Many systems hold data on this subject.",
        },
        "/v1/requests/{request_id}/cancel": {"reason": "withdrawn by the subject"},
    }
    params = {"idempotency_key": "abuse-key"} if path == "/v1/requests" else {}
    return url, bodies.get(path), params


async def test_no_role_can_do_another_roles_actions(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    openapi = (await client.get("/openapi.json")).json()
    operations = {(m.upper(), p) for p, item in openapi["paths"].items() for m in item}
    unlisted = {op for op in operations if op not in ALLOWED and op[1] not in PUBLIC}
    # a waiting request (web form, no proof), so that verification, extension and cancel all apply
    waiting = await client.post(
        "/v1/requests",
        json=submission(channel="web_form", subject={"national_id": person(3)}),
        headers=auth("agent"),
    )
    assert waiting.status_code == 202, waiting.text
    request_id = uuid.UUID(waiting.json()["id"])
    await _request_with_artifact(client, settings, pool)

    for (method, path), allowed in sorted(ALLOWED.items()):
        url, body, params = _call(path, request_id)
        for role in sorted({"system", "agent", "ops"} - allowed):
            before = await _state(pool)
            response = await client.request(method, url, json=body, params=params, headers=auth(role))
            assert response.status_code == 403, (method, path, role, response.status_code)
            assert await _state(pool) == before, (
                f"a forbidden {role} call of {method} {path} changed something"
            )
        anonymous = await client.request(method, url, json=body, params=params)
        assert anonymous.status_code == 401, (method, path)
        forged = await client.request(
            method,
            url,
            json=body,
            params=params,
            headers={"Authorization": "Bearer " + SECRETS["ops"][:-1] + "X"},
        )
        assert forged.status_code == 401, (method, path)
    # operations added later without a line above must at least refuse callers without a key
    for method, path in sorted(unlisted):
        url = re.sub(r"\{[^}]+\}", str(request_id), path)
        response = await client.request(method, url)
        assert response.status_code in (401, 403), f"{method} {path} answers a caller without a key"

    # and the allowed roles really can (the matrix is not just refusing everybody)
    for path, role in (
        ("/v1/requests/{request_id}/verification", "agent"),
        ("/v1/requests/{request_id}/extension", "ops"),
        ("/v1/requests/{request_id}/cancel", "system"),
    ):
        url, body, _ = _call(path, request_id)
        response = await client.post(url, json=body, headers=auth(role))
        assert response.status_code == 200, (path, role, response.text)


async def test_the_audit_export_refuses_what_it_does_not_know(client: httpx.AsyncClient) -> None:
    unknown = uuid.uuid4()
    for path, params, status in (
        (f"/v1/requests/{unknown}/audit-export", {"format": "xml"}, 422),
        (f"/v1/requests/{unknown}/audit-export", {"format": "pdf"}, 404),
        ("/v1/requests/DSR-2026-000001/audit-export", {}, 422),  # the API takes ids, not references
        ("/v1/requests/..%2F..%2Fetc%2Fpasswd/audit-export", {}, 404),
    ):
        response = await client.get(path, params=params, headers=auth("ops"))
        assert response.status_code == status, (path, params, response.text)
