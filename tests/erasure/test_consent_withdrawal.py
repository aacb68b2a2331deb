"""Consent withdrawal on the real demo systems: what rests on consent alone is erased; on a table
that also rests on another basis the consent purposes stop (consent-only columns emptied in the
newsletter SaaS over HTTP; a purpose's own mark set in PostgreSQL) and the rest goes on; the
re-scan proves it, the certificate, the audit trail and the subject's notice say which purposes
stopped and which continue, on what basis; so does the extract of the same person's later access
request (JSON and HTML, bokmål and English).

The withdrawal is made once for the module (`withdrawn`, in a ledger of the module's own); the tests
of it only read what it left, and add requests of their own."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jsonschema
import pytest
from markupsafe import escape

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled
from schemas.generate import extract_schema
from schemas.requests import RequestStatus, RequestType
from services.catalogue.model import Catalogue, Table
from services.demo.loader import DemoSystems
from services.documents.templates import long_date
from services.erasure.outcome import stopped_purposes
from services.fulfilment.texts import texts
from services.locator.scope import EMAIL_DIRECT
from services.notifier.handlers import on_fulfilled
from services.notifier.notices import TYPE_LABELS, Template, render
from tests.erasure.conftest import Harness, close, harness_for
from tests.support import behind
from tests.support.catalogue_texts import leaked

EVA = "eva.sorbotten@eksempel.no"
EVA_ROW = 990000101
RUNNING = {
    "nb": "Å gjennomføre arrangementet du meldte deg på, og følge opp etterpå.",
    "en": "Running the event you signed up for, and following up on it afterwards.",
}
CALLING = {
    "nb": "Å ringe deg om senere arrangementer og webinarer som passer for virksomheten din.",
    "en": "Calling you about later events and webinars, suited to your organisation.",
}


async def notice_texts(h: Harness, request_id: uuid.UUID) -> dict[str, str]:
    """The completion notice the notifier queues for the request, rendered in both languages."""
    event = Envelope[RequestFulfilled](
        event_type="request.fulfilled",
        producer="fulfilment",
        request_id=request_id,
        payload=RequestFulfilled(
            type=RequestType(await h.pool.fetchval("select type from requests where id = $1", request_id)),
            status=RequestStatus.completed,
            artifact_count=0,
        ),
    )
    async with h.pool.acquire() as conn, conn.transaction():
        await on_fulfilled(conn, event)
    stored = await h.pool.fetchval(
        "select context from notices where request_id = $1 and template = 'completion'", request_id
    )
    assert stored is not None
    out = {}
    for language in ("nb", "en"):
        context = {
            **stored,
            "company": "Example Inkasso AS",
            "type_label": TYPE_LABELS[language][RequestType(stored["type"])],
            "status_url": "http://127.0.0.1/status",
            "status_secret": "s",
            "link_days": 7,
            "downloads": [],
        }
        out[language] = render(Template.completion, language, context).body
    return out


@dataclass(frozen=True)
class Withdrawn:
    """Eva's consent withdrawal, made on the shared second load: her newsletter subscription (on
    consent alone), an event sign-up and a download (on consent and legitimate interest)."""

    h: Harness
    request_id: uuid.UUID
    reference: str


@pytest.fixture(scope="module")
async def withdrawn(
    catalogue: Catalogue, second_demo: DemoSystems, module_pool: asyncpg.Pool
) -> AsyncIterator[Withdrawn]:
    now = datetime.now(UTC)
    h = await harness_for(catalogue, second_demo, module_pool)
    await behind.insert(
        h.demo,
        "marketing",
        "newsletter_subscriptions",
        {
            "id": EVA_ROW,
            "email": EVA,
            "name": "Eva",
            "newsletter": "Kundeavisen",
            "subscribed_at": now,
            "consent_text": "Ja",
            "unsubscribed_at": None,
            "restricted": False,
        },
    )
    await behind.insert(
        h.demo,
        "marketing",
        "event_signups",
        {
            "id": EVA_ROW,
            "event": "Webinar",
            "email": EVA,
            "name": "Eva Sørbotten",
            "phone": "+4740000010",
            "organisation": "Sørbotten Regnskap",
            "signed_up_at": now,
            "attended": True,
            "restricted": False,
        },
    )
    await behind.insert(
        h.demo,
        "marketing",
        "downloads",
        {"id": EVA_ROW, "email": EVA, "asset": "Guide", "downloaded_at": now, "restricted": False},
    )
    request_id = await h.located("unknown_person", RequestType.consent_withdrawal)
    await h.fulfil(request_id)
    reference = await h.pool.fetchval("select reference from requests where id = $1", request_id)
    try:
        yield Withdrawn(h, request_id, reference)
    finally:  # the shared load as it was: what the withdrawal kept of Eva goes too
        for table in ("event_signups", "downloads"):
            await behind.delete(h.demo, "marketing", table, EVA_ROW)
        await close(h)


async def test_withdrawal_erases_consent_only_data_and_stops_consent_purposes_elsewhere(
    withdrawn: Withdrawn,
) -> None:
    h, request_id = withdrawn.h, withdrawn.request_id
    assert await h.status(request_id) == "completed"

    # consent alone: erased; consent and another basis: the row stays, what rested on consent is gone
    assert await behind.record(h.demo, "marketing", "newsletter_subscriptions", EVA_ROW) is None
    signup = await behind.record(h.demo, "marketing", "event_signups", EVA_ROW)
    assert signup is not None and signup["phone"] in (None, "") and signup["organisation"] in (None, "")
    assert signup["email"] == EVA and signup["name"] == "Eva Sørbotten" and signup["restricted"] is False
    download = await behind.record(h.demo, "marketing", "downloads", EVA_ROW)
    assert download is not None and download["email"] in (None, "") and download["asset"] == "Guide"

    [cert] = await h.certificates(request_id)
    assert cert["summary"]["erased"] == 1 and cert["summary"]["kept"] == 2
    assert (
        cert["rescan"]["clean"] and cert["rescan"]["stops_checked"] == 2 and cert["rescan"]["unstopped"] == []
    )
    lines = {line["table"]: line for line in cert["purposes"]}
    assert set(lines) == {"event_signups", "downloads"}
    assert lines["event_signups"]["columns_emptied"] == ["phone", "organisation"]
    assert [p["legal_basis"] for p in lines["event_signups"]["stopped"]] == ["6(1)(a)"]
    assert [p["legal_basis"] for p in lines["event_signups"]["continuing"]] == ["6(1)(f)"]
    kept = {e["table"]: e for e in cert["kept"]}
    assert kept["event_signups"]["reason"]["code"] == "other_basis"

    # the erasure ledger remembers the emptied columns (a replay after a restore empties them again)
    ledger = await h.pool.fetch(
        """select "table", method, columns from erasure_ledger l join erasure_plans p on p.id = l.plan_id
           where p.request_id = $1 order by "table" """,
        request_id,
    )
    assert {(r["table"], r["method"], tuple(r["columns"])) for r in ledger} >= {
        ("downloads", "null_columns", ("email",)),
        ("event_signups", "null_columns", ("phone", "organisation")),
    }

    # audit trail: which purposes stopped and which continue, with no personal data
    detail = await h.pool.fetchval(
        "select detail from audit_events where request_id = $1 and action = 'consent_purposes_stopped'",
        request_id,
    )
    assert {t["table"] for t in detail["tables"]} == {"event_signups", "downloads"}
    dumped = json.dumps(detail, ensure_ascii=False)
    assert "eva" not in dumped.lower() and "40000010" not in dumped and "Sørbotten" not in dumped

    # a later extract can say it of these rows
    async with h.pool.acquire() as conn:
        said = await stopped_purposes(conn, [("marketing", "event_signups", {"id": str(EVA_ROW)})])
    [(key, purposes)] = said.items()
    assert key[:2] == ("marketing", "event_signups") and purposes["continuing"][0]["legal_basis"] == "6(1)(f)"
    assert purposes["request_reference"] == withdrawn.reference

    # the subject is told in the request's language (bokmål here): the catalogue's purposes too,
    # none of them in English; the English template says its own words the same way
    notice = await notice_texts(h, request_id)
    assert "Det som bygde på samtykket, er stanset" in notice["nb"] and "fortsetter: " in notice["nb"]
    assert CALLING["nb"].rstrip(".") in notice["nb"] and RUNNING["nb"].rstrip(".") in notice["nb"]
    assert leaked(h.catalogue, "nb", notice["nb"], dumped) == []
    assert "on the basis of our legitimate interest" in notice["en"] and "(consent)" in notice["en"]
    assert "grunnlag: vår berettigede interesse" in notice["nb"]


async def _extract(w: Withdrawn, language: str, scope: str | None = None) -> tuple[dict[str, Any], str]:
    """Eva's later access request, answered: the extract's JSON and HTML."""
    h = w.h
    request_id = await h.located("unknown_person", RequestType.access)
    await h.pool.execute(
        "update requests set language = $2, identity_scope = $3 where id = $1", request_id, language, scope
    )
    await h.deliver(request_id)
    assert await h.status(request_id) == "completed"
    artifacts = await h.artifacts(request_id)
    return json.loads(artifacts["extract_json"]), artifacts["extract_html"].decode()


async def test_a_later_extract_says_which_purposes_stopped_and_which_go_on_on_what_basis(
    withdrawn: Withdrawn,
) -> None:
    stopped_on = await withdrawn.h.pool.fetchval(
        "select min(stopped_at) from stopped_purposes where request_id = $1", withdrawn.request_id
    )
    for language, going, consent in (
        ("nb", "vår berettigede interesse", "samtykke"),
        ("en", "our legitimate interest", "consent"),
    ):
        words = texts(language)
        extract, html = await _extract(withdrawn, language)
        assert list(jsonschema.Draft202012Validator(extract_schema()).iter_errors(extract)) == []
        # the download's only link to her was the email its follow-up had: emptied, it is hers no more
        [signup] = extract["records"]
        assert signup["table"] == "event_signups" and signup["data"]["email"] == EVA
        assert signup["data"]["phone"] is None and signup["data"]["organisation"] is None
        assert signup["legal_basis"] == ["GDPR Art. 6(1)(f)"]  # consent is no basis for it any more
        going_on, halted = signup["purposes"]
        assert going_on == {
            "purpose": RUNNING[language],
            "legal_basis": "GDPR Art. 6(1)(f)",
            "basis": going,
            "stopped": None,
        }
        assert (halted["purpose"], halted["legal_basis"], halted["basis"]) == (
            CALLING[language],
            "GDPR Art. 6(1)(a)",
            consent,
        )
        assert halted["stopped"]["because"] == "consent_withdrawn"
        assert halted["stopped"]["because_text"] == words.stop_reasons["consent_withdrawn"]
        assert halted["stopped"]["request_reference"] == withdrawn.reference
        assert abs((datetime.fromisoformat(halted["stopped"]["on"]) - stopped_on).total_seconds()) < 1

        # the HTML lists the purposes per register, each with its basis in words and its status
        line = words.stopped_on.format(
            date=long_date(stopped_on, "en" if language == "en" else "nb"),
            because=words.stop_reasons["consent_withdrawn"],
        )
        assert html.count(str(escape(f"{line} ({words.labels['request']} {withdrawn.reference})"))) == 1
        assert html.count(str(escape(words.labels["purposes"]))) == 1
        assert html.count(f"<td>{escape(words.labels['continues'])}</td>") == 1
        assert str(escape(f"GDPR Art. 6(1)(f): {going}")) in html
        assert str(escape(f"GDPR Art. 6(1)(a): {consent}")) in html
        assert str(escape(RUNNING[language])) in html and str(escape(CALLING[language])) in html
        assert leaked(withdrawn.h.catalogue, language, json.dumps(extract, ensure_ascii=False), html) == []

    # on a confirmed email alone (a mailbox can be shared), whose withdrawal it was is left out
    mailbox, html = await _extract(withdrawn, "en", EMAIL_DIRECT)
    [halted] = [
        p for r in mailbox["records"] for p in r["purposes"] if p["stopped"] and "Calling" in p["purpose"]
    ]
    assert halted["stopped"]["request_reference"] is None and withdrawn.reference not in html


def _with_follow_up_mark(catalogue: Catalogue) -> Catalogue:
    """The contact form as if it also rested on consent, for news about what the person asked
    about, stopped by a mark of its own (a real system's 'may contact me' flag)."""
    system = catalogue.systems["correspondence"]
    raw: dict[str, Any] = system.tables["form_submissions"].model_dump(mode="json", exclude_none=True)
    raw["legal_basis"] = ["6(1)(a)", "6(1)(f)"]
    raw["columns"]["follow_up_stopped"] = {"type": "boolean", "categories": ["system.processing"]}
    raw["purposes"] = [
        {
            "purpose": {"nb": "Å svare på henvendelsen din.", "en": "Answering your enquiry."},
            "legal_basis": "6(1)(f)",
        },
        {
            "purpose": {
                "nb": "Å sende deg nyheter om det du spurte om.",
                "en": "Sending you news about what you asked about.",
            },
            "legal_basis": "6(1)(a)",
            "restriction": {"column": "follow_up_stopped"},
        },
    ]
    tables = {**system.tables, "form_submissions": Table.model_validate(raw)}
    return catalogue.model_copy(
        update={
            "systems": {**catalogue.systems, "correspondence": system.model_copy(update={"tables": tables})}
        }
    )


@pytest.fixture
async def marked(
    catalogue: Catalogue, rights_demo: DemoSystems, module_pool: asyncpg.Pool
) -> AsyncIterator[Harness]:
    h = await harness_for(_with_follow_up_mark(catalogue), rights_demo, module_pool)
    source = await h.source("correspondence")
    await source.execute(
        "alter table form_submissions add column follow_up_stopped boolean not null default false"
    )
    try:
        yield h
    finally:  # the shared load as it was
        await source.execute(
            """drop trigger if exists keep_follow_up on form_submissions;
               drop function if exists keep_follow_up();
               delete from form_submissions where id = 990000201;
               alter table form_submissions drop column follow_up_stopped"""
        )
        await close(h)


async def test_a_purpose_mark_stops_consent_processing_and_the_rescan_proves_it(marked: Harness) -> None:
    h = marked
    source = await h.source("correspondence")
    await source.execute(
        """insert into form_submissions (id, submitted_at, form, name, email, phone, case_number, message, restricted)
           values (990000201, now(), 'contact', 'Eva', $1, null, null, 'Hei', false)""",
        EVA,
    )
    request_id = await h.located("unknown_person", RequestType.consent_withdrawal)
    await h.fulfil(request_id)
    assert await h.status(request_id) == "completed"
    [row] = await source.fetch("select * from form_submissions where id = 990000201")
    assert row["follow_up_stopped"] is True and row["restricted"] is False  # the enquiry is still answered
    assert row["email"] == EVA and row["name"] == "Eva"
    [cert] = await h.certificates(request_id)
    assert cert["rescan"]["clean"] and cert["rescan"]["stops_checked"] == 1
    [line] = cert["purposes"]
    assert line["marks_set"] == ["follow_up_stopped"] and line["columns_emptied"] == []
    notices = await h.pool.fetch("select change from recipient_notices where request_id = $1", request_id)
    assert {n["change"] for n in notices} == {"restricted"}

    # another writer clears the mark as it is set: the check after the plan sees it, no success
    await source.execute("update form_submissions set follow_up_stopped = false where id = 990000201")
    await source.execute(
        """create function keep_follow_up() returns trigger language plpgsql as $$
           begin new.follow_up_stopped := old.follow_up_stopped; return new; end $$"""
    )
    await source.execute(
        """create trigger keep_follow_up before update on form_submissions
           for each row execute function keep_follow_up()"""
    )
    again = await h.located("unknown_person", RequestType.consent_withdrawal)
    await h.fulfil(again)
    assert await h.status(again) == "needs_review"
    reason = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", again
    )
    assert reason.startswith("consent_purpose_not_stopped: correspondence.form_submissions")
    [cert] = await h.certificates(again)
    assert not cert["rescan"]["clean"] and cert["rescan"]["unstopped"][0]["columns"] == ["follow_up_stopped"]
