"""Issue 22, low: one live download link per artifact and recipient (a new one ends the old), the HTML
extract served with the console's strict Content-Security-Policy, control characters refused by the
public form (never stripped into somebody's national id), and an email confirmed only by a POST
from its page (a mail scanner opening the link confirms nothing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from schemas.requests import RequestSubmission
from services.api.app import SPEC as FULL
from services.api.app import configure
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.console.web import CSP
from services.intake import admission
from services.public.tokens import issue_verification
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.helpers import auth, person, submission
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)
HTML = b"<!doctype html><p>extract</p><script>alert(1)</script>"


@pytest.fixture
async def client(settings: Settings, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(INTAKE, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        yield c


async def _with_html_extract(client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool) -> uuid.UUID:
    created = await client.post("/v1/requests", json=submission(), headers=auth("agent"))
    request_id = uuid.UUID(created.json()["id"])
    async with pool.acquire() as conn, conn.transaction():
        await ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)).put(
            conn,
            request_id=request_id,
            kind=ArtifactKind.extract_html,
            media_type="text/html; charset=utf-8",
            filename="extract.html",
            content=HTML,
            actor="fulfilment",
        )
    return request_id


async def _link(client: httpx.AsyncClient, request_id: uuid.UUID, role: str) -> str:
    [link] = (await client.get(f"/v1/requests/{request_id}/artifacts", headers=auth(role))).json()
    return str(link["download_url"])


async def test_a_new_link_ends_the_recipients_earlier_one_and_the_html_gets_a_strict_policy(
    client: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    request_id = await _with_html_extract(client, settings, pool)
    first, dpos = await _link(client, request_id, "agent"), await _link(client, request_id, "dpo")
    second = await _link(client, request_id, "agent")
    live = await pool.fetch(
        "select issued_to from download_tokens where used_at is null and expires_at > now() order by issued_to"
    )
    assert [row["issued_to"] for row in live] == ["test-agent", "test-dpo"]  # one each
    async with httpx.AsyncClient(timeout=10) as anonymous:
        assert (await anonymous.get(first)).status_code == 410
        html = await anonymous.get(second)
        assert html.status_code == 200 and html.content == HTML
        assert html.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
        assert html.headers["x-content-type-options"] == "nosniff"
        assert (await anonymous.get(dpos)).status_code == 200  # another recipient's link stands
    issued = await pool.fetch(
        "select detail from audit_events where action = 'download_link_issued' order by id"
    )
    assert [row["detail"].get("ended_earlier") for row in issued] == [None, None, 1]


async def test_the_subjects_links_are_one_per_artifact_too(settings: Settings, pool: asyncpg.Pool) -> None:
    """The status page and the notices issue to `subject`: opening the status page again ends the link
    the page (or a mail) gave before."""
    async with pool.acquire() as conn, conn.transaction():
        request_id = uuid.UUID(
            (
                await admission.submit(
                    conn, RequestSubmission.model_validate(submission()), actor="test-agent"
                )
            ).view.id
        )
        store = ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
        artifact = await store.put(
            conn,
            request_id=request_id,
            kind=ArtifactKind.extract_json,
            media_type="application/json",
            filename="extract.json",
            content=b"{}",
            actor="fulfilment",
        )
        now = datetime.now(UTC)
        old = await store.issue_link(
            conn, artifact, issued_to="subject", valid_for=timedelta(days=7), now=now
        )
        new = await store.issue_link(
            conn, artifact, issued_to="subject", valid_for=timedelta(days=7), now=now + timedelta(seconds=1)
        )
        later = now + timedelta(seconds=2)
        assert await store.redeem(conn, old, now=later) == "spent"
        assert (await store.redeem(conn, new, now=later)).content == b"{}"  # type: ignore[union-attr]


async def test_the_public_form_refuses_control_characters_instead_of_stripping_them(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    real = person(21)
    hidden = real[:7] + "\x00" + real[7:]  # without its NUL, a real person's number
    before = await pool.fetchval("select count(*) from requests")
    for fields in (
        {"national_id": hidden},
        {"email": "kari@example.no", "name": "Kari\x1b[31m"},
        {"email": "kari@example.no", "notes": "line one\x00line two"},
    ):
        refused = await client.post("/request", data={"type": "access", "lang": "en", **fields})
        assert refused.status_code == 422, (fields, refused.status_code)
        assert "invisible control character" in refused.text
        assert "\x00" not in refused.text and "\x1b" not in refused.text
    assert await pool.fetchval("select count(*) from requests") == before
    # line breaks in a text area are typed, not smuggled
    fine = await client.post(
        "/request",
        data={"type": "access", "lang": "en", "email": "kari@example.no", "notes": "one\r\ntwo\tthree"},
    )
    assert fine.status_code == 200, fine.text
    status = await client.post("/status", data={"reference": "DSR-2026-000001\x00", "secret": "x"})
    assert status.status_code == 400 and "control character" in status.text


async def test_opening_a_confirmation_link_confirms_nothing_until_its_page_is_posted(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        waiting = await admission.submit(
            conn,
            RequestSubmission.model_validate(
                {
                    "type": "access",
                    "channel": "web_form",
                    "subject": {"email": "kari@example.no"},
                }
            ),
            actor="public-web-form",
        )
        request_id = uuid.UUID(waiting.view.id)
        token = await issue_verification(conn, request_id, valid_for=timedelta(days=7), now=datetime.now(UTC))
    assert waiting.view.status == "awaiting_verification"
    for method in ("GET", "HEAD", "GET"):  # a scanner may open it more than once
        opened = await client.request(method, f"/verify/{token}")
        assert opened.status_code in (200, 405), (method, opened.status_code)
    page = await client.get(f"/verify/{token}?lang=en")
    assert f'<form method="post" action="/verify/{token}">' in page.text
    assert (
        await pool.fetchval("select status from requests where id = $1", request_id)
        == "awaiting_verification"
    )
    assert await pool.fetchval("select used_at from email_verifications") is None
    confirmed = await client.post(f"/verify/{token}", data={"lang": "en"})
    assert confirmed.status_code == 200
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "verified"
