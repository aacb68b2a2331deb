"""The public form over HTTP: same intake path as the API (channel web_form), errors per field,
abuse protection (429 on the 21st in a minute, honeypot, open-request cap), email confirmation,
the refusal of an unconfirmed request, the status page and the download page."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.intake import lifecycle
from services.launcher.ports import free_port
from services.notifier.mail import SmtpTransport
from services.notifier.notices import Rendered
from services.notifier.sink import MailSink
from services.public.tokens import issue_status_secret, issue_verification
from services.public.verification import refuse_unconfirmed
from services.runtime.settings import Settings
from tests.notifier.conftest import Pump, delivery, notice_settings
from tests.public.conftest import running_api

REFERENCE = re.compile(r'id="reference">(DSR-\d{4}-\d{6})<')


def _email() -> str:
    return f"web-{uuid.uuid4().hex[:8]}@example.no"


async def _post(web: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await web.post("/request", data={"lang": "nb", "language": "nb", **fields})


async def _request(pool: asyncpg.Pool, reference: str) -> asyncpg.Record:
    row = await pool.fetchrow("select * from requests where reference = $1", reference)
    assert row is not None
    return row


async def test_the_form_goes_through_intake_as_a_web_form_request(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    page = await web.get("/request")
    assert page.status_code == 200 and 'lang="nb"' in page.text
    assert "én måned" in page.text and "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert re.findall(r'(?:src|href)="(https?://[^"]+)"', page.text) == []  # nothing third-party
    response = await _post(web, type="access", email=_email(), notes="Hva har dere om meg?")
    assert response.status_code == 200, response.text
    reference = REFERENCE.search(response.text)
    assert reference is not None
    row = await _request(pool, reference.group(1))
    assert (row["channel"], row["status"], row["language"]) == ("web_form", "awaiting_verification", "nb")
    assert "bekrefte at e-postadressen er din" in response.text and "Plan &amp; Pay" in response.text
    actor = await pool.fetchval(
        "select actor from request_status_history where request_id = $1 order by id limit 1", row["id"]
    )
    assert actor == "public-web-form"


async def test_errors_are_named_next_to_their_field(web: httpx.AsyncClient) -> None:
    response = await _post(web, type="rectification", national_id="12345678901")
    assert response.status_code == 422
    assert 'id="corrections-error"' in response.text
    assert 'aria-describedby="corrections-error" aria-invalid="true"' in response.text
    response = await _post(web, type="access", national_id="12345678901")
    assert response.status_code == 422
    assert 'id="national_id-error"' in response.text and "Fødselsnummeret er ikke gyldig" in response.text
    assert 'value="12345678901"' in response.text  # kept for correcting, never in a URL
    response = await web.post("/request", data={"lang": "en"})
    assert response.status_code == 422
    assert "Choose what you want." in response.text and 'role="alert"' in response.text


async def test_a_filled_honeypot_is_refused_with_the_reason(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("select count(*) from requests")
    response = await _post(web, type="access", email=_email(), website="http://spam.example")
    assert response.status_code == 400
    assert "et felt som skal stå tomt" in response.text
    assert await pool.fetchval("select count(*) from requests") == before


async def test_the_21st_submission_from_one_address_in_a_minute_gets_429(web: httpx.AsyncClient) -> None:
    for _ in range(20):
        assert (await _post(web)).status_code == 422  # every submission counts, valid or not
    response = await _post(web, type="newsletter_unsubscribe", email=_email())
    assert response.status_code == 429
    assert "For mange innsendinger fra denne adressen" in response.text


async def test_open_requests_per_identifier_are_capped(web: httpx.AsyncClient) -> None:
    address = _email()
    for kind in ("access", "erasure", "restriction"):
        assert (await _post(web, type=kind, email=address)).status_code == 200
    response = await _post(web, type="portability", email=address)
    assert response.status_code == 429
    assert "allerede 3 åpne krav" in response.text


async def test_a_confirmed_email_verifies_with_the_direct_email_scope(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    response = await _post(web, type="access", email=_email(), national_id="15076500565")
    row = await _request(pool, REFERENCE.search(response.text).group(1))  # type: ignore[union-attr]
    async with pool.acquire() as conn:
        token = await issue_verification(conn, row["id"], valid_for=timedelta(days=7), now=datetime.now(UTC))
    page = await web.get(f"/verify/{token}?lang=en")
    assert page.status_code == 200 and "Confirm your email address" in page.text
    assert (await _request(pool, row["reference"]))[
        "status"
    ] == "awaiting_verification"  # GET changes nothing
    confirmed = await web.post(f"/verify/{token}", data={"lang": "en"})
    assert confirmed.status_code == 200, confirmed.text
    assert "only the data we find directly by this email address" in confirmed.text
    after = await _request(pool, row["reference"])
    assert (after["status"], after["assurance"], after["identity_scope"]) == (
        "verified",
        "substantial",
        "email_direct",
    )
    detail = await pool.fetchval(
        "select detail from audit_events where request_id = $1 and action = 'verification_recorded'",
        row["id"],
    )
    assert detail["method"] == "email_link" and detail["proves"].startswith("control of the email address")
    assert detail["scope"] == "email_direct"
    assert (await web.post(f"/verify/{token}", data={"lang": "en"})).status_code == 410
    assert (await web.get("/verify/" + "x" * 43)).status_code == 404


async def test_an_unconfirmed_request_is_refused_and_the_subject_told(
    web: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    address = _email()
    response = await _post(web, type="erasure", email=address, language="en")
    row = await _request(pool, REFERENCE.search(response.text).group(1))  # type: ignore[union-attr]
    pump = Pump(pool, settings)
    await pump()  # receipt and verification request queued
    sender = delivery(pool, settings, notice_settings(mail_sink))
    await sender.run_due()  # the verification link is issued as the email goes
    async with pool.acquire() as conn, conn.transaction():
        assert await refuse_unconfirmed(conn, now=datetime.now(UTC), after=timedelta(days=7)) == []
        refused = await refuse_unconfirmed(
            conn, now=datetime.now(UTC) + timedelta(days=8), after=timedelta(days=7)
        )
    assert row["id"] in refused
    assert (await _request(pool, row["reference"]))["status"] == "refused"
    await pump()
    await sender.run_due()
    told = [
        m
        for m in mail_sink.messages
        if address in m.recipients and m.subject.startswith("Your request is refused")
    ]
    assert len(told) == 1
    assert "could not confirm your identity in time" in told[0].body and "Datatilsynet" in told[0].body


async def test_the_status_page_shows_status_due_date_and_the_download_link_only(
    web: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    address = _email()
    response = await _post(web, type="access", email=address, national_id="15076500565", language="en")
    row = await _request(pool, REFERENCE.search(response.text).group(1))  # type: ignore[union-attr]
    async with pool.acquire() as conn:
        secret = await issue_status_secret(conn, row["id"])
    wrong = await web.post(
        "/status", data={"reference": row["reference"], "secret": "0000-0000", "lang": "en"}
    )
    assert wrong.status_code == 404 and "We found no request" in wrong.text
    shown = await web.post(
        "/status", data={"reference": row["reference"], "secret": secret.lower(), "lang": "en"}
    )
    assert shown.status_code == 200
    assert "Waiting for you to confirm your identity" in shown.text
    assert address not in shown.text and "15076500565" not in shown.text and "/download/" not in shown.text
    async with pool.acquire() as conn, conn.transaction():
        await lifecycle.extend(
            conn,
            row["id"],
            months=1,
            reason="Two systems must be searched by hand.",
            actor="agent",
            now=datetime.now(UTC),
        )
    shown = await web.post("/status", data={"reference": row["reference"], "secret": secret, "lang": "en"})
    assert "The deadline is extended" in shown.text and "Two systems must be searched by hand." in shown.text
    # Completed with an extract: a one-time link, through the download page.
    store = ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("update requests set status = 'completed' where id = $1", row["id"])
        await store.put(
            conn,
            request_id=row["id"],
            kind=ArtifactKind.extract_json,
            media_type="application/json",
            filename="extract.json",
            content=b'{"records": []}',
            actor="test",
        )
    shown = await web.post("/status", data={"reference": row["reference"], "secret": secret, "lang": "en"})
    link = re.search(r'href="(/download/[^"]+)"', shown.text)
    assert link is not None and "Done" in shown.text
    page = await web.get(link.group(1).replace("&amp;", "&"))
    assert page.status_code == 200 and "The link works only once" in page.text
    file_url = re.search(r'href="([^"]+)" download', page.text).group(1)  # type: ignore[union-attr]
    assert (await web.get(file_url)).content == b'{"records": []}'
    assert (await web.get(file_url)).status_code == 410
    assert (await web.get(link.group(1).replace("&amp;", "&"))).status_code == 410


async def test_demo_mail_is_off_outside_the_demo(web: httpx.AsyncClient) -> None:
    assert (await web.get("/demo/mail")).status_code == 404


async def test_demo_mail_shows_what_the_sink_caught(
    settings: Settings, unused_tcp_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "demo-mail"
    sink = MailSink(free_port(), folder).start()
    try:
        monkeypatch.setenv("DSR_DEMO_MAIL_DIR", str(folder))
        await SmtpTransport(notice_settings(sink)).send(
            "demo@example.no", Rendered("Vi har mottatt kravet ditt (DSR-2026-000001)", "Hei,\n"), "nb"
        )
        async with (
            running_api(settings.model_copy(update={"demo": True}), unused_tcp_port) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            page = await client.get("/demo/mail")
        assert page.status_code == 200
        assert "Vi har mottatt kravet ditt (DSR-2026-000001)" in page.text and "demo@example.no" in page.text
    finally:
        sink.stop()


async def test_odd_bodies_are_refused_not_failed(web: httpx.AsyncClient) -> None:
    many = "&".join(f"f{i}=x" for i in range(60))
    headers = {"content-type": "application/x-www-form-urlencoded"}
    assert (await web.post("/request", content=many, headers=headers)).status_code == 400
    assert (await web.post("/request", content=b"type=\xff\xfe", headers=headers)).status_code == 400
    assert (
        await web.post("/status", content=b'{"reference": 1}', headers={"content-type": "application/json"})
    ).status_code == 404
