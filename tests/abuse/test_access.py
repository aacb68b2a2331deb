"""Access control under abuse: no path to an artifact's content but a one-time link, links that cannot
be raced, guessed, derived from the database or replayed, and no role doing another role's actions.

Complements tests/intake/test_downloads.py (a link works once, a tampered or expired link fails) and
tests/abuse/test_authority.py (every route for every role, against the authority table) without
repeating them.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.api.app import SPEC as INTAKE
from services.api.app import configure
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.authority import Role, reach, routes
from services.runtime.host import ServiceSpec, create_service_app
from services.runtime.settings import Settings
from tests.intake.helpers import SECRETS, auth, submission
from tests.support.serving import serving

SECRET_CONTENT = b'{"records": [{"marker": "ARTIFACT-PLAINTEXT-7f3a"}]}'
MARKER = "ARTIFACT-PLAINTEXT-7f3a"


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
        for method, path, action in routes(create_service_app(INTAKE, settings)):
            if method != "GET" or action is None or not path.startswith("/v1/"):
                continue
            for role in (r for r in Role if reach(r, action) is not None):
                response = await client.get(
                    path.format(request_id=request_id), headers=auth(role), params={"idempotency_key": "x"}
                )
                assert MARKER not in response.text, (path, role)
                assert MARKER.encode() not in response.content
        # the agent's listings since ended the first link (one live link per recipient, issue 22);
        # the one the last listing gave, still unused after all that, works once
        assert (await anonymous.get(link)).status_code == 410
        fresh = await _link(client, request_id)
        assert (await anonymous.get(fresh)).content == SECRET_CONTENT
        assert (await anonymous.get(fresh)).status_code == 410


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
