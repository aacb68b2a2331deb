"""Erasure in a system without an interface: an agent's task, and the plan waits for it.

The catalogue copy here makes `telephony` manual (`connection: {engine: manual}`); the agent's
manual search found the subject there (the call is on paper), so the erasure plan gets a manual
step: the automated systems run, the plan waits for the agent's confirmation, and the certificate
says who confirmed what by hand, and when."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pypdf
import pytest

from services.artifacts.sealing import open_sealed
from services.catalogue.model import Catalogue, Connection
from services.demo.loader import DemoSystems
from services.erasure.manual import ManualStep
from services.erasure.plan import ErasurePlan, build_plan
from services.erasure.render import certificate_html
from services.erasure.retention import RecordFacts
from services.erasure.scopes import Scope
from services.erasure.tasks import TaskConflict, confirm_task
from services.erasure.worker import run_once
from tests.erasure.conftest import KEYS, Harness, close, harness_for

TODAY = date(2026, 11, 24)


def manual_catalogue(catalogue: Catalogue, system: str = "telephony") -> Catalogue:
    """A copy of the catalogue in which `system` has no interface."""
    systems = dict(catalogue.systems)
    systems[system] = systems[system].model_copy(update={"connection": Connection(engine="manual")})
    return catalogue.model_copy(update={"systems": systems})


@pytest.fixture
async def manual(catalogue: Catalogue, fresh_demo: DemoSystems, pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    h = await harness_for(manual_catalogue(catalogue), fresh_demo, pool, erasure_pdf="always")
    yield h
    await close(h)


async def _plan(h: Harness, request_id: uuid.UUID) -> asyncpg.Record:
    return await h.pool.fetchrow(
        "select id, status, plan from erasure_plans where request_id = $1", request_id
    )


async def _task(h: Harness, request_id: uuid.UUID) -> asyncpg.Record:
    return await h.pool.fetchrow(
        "select * from manual_tasks where request_id = $1 and kind = 'erasure'", request_id
    )


async def _documents(h: Harness, request_id: uuid.UUID) -> dict[str, bytes]:
    rows = await h.pool.fetch(
        """select id, media_type, key_id, sealed from artifacts
           where request_id = $1 and kind = 'erasure_certificate'""",
        request_id,
    )
    return {r["media_type"]: open_sealed(r["sealed"], KEYS.key(r["key_id"]), r["id"].bytes) for r in rows}


async def _erasure_requested(h: Harness) -> uuid.UUID:
    """closed_case_debtor, found in telephony by the agent's search; due in 30 days."""
    request_id = await h.located("closed_case_debtor", answered={"telephony": True})
    await h.pool.execute("update requests set due_date = current_date + 30 where id = $1", request_id)
    await h.fulfil(request_id)
    return request_id


async def test_the_plan_runs_the_other_systems_waits_for_the_agent_and_certifies_the_confirmation(
    manual: Harness,
) -> None:
    h = manual
    request_id = await _erasure_requested(h)

    # The automated systems ran; the plan waits for the agent, the request is still fulfilling.
    plan = await _plan(h, request_id)
    assert plan["status"] == "awaiting_manual"
    assert await h.status(request_id) == "fulfilling"
    assert await h.certificates(request_id) == []
    stored = ErasurePlan.from_json(plan["plan"])
    done = {r["system"] for r in await h.pool.fetch("select system from erasure_plan_systems")}
    assert done == {s for s, _ in stored.by_system()} and "telephony" not in done and done
    assert [step.system for step in stored.manual] == ["telephony"]

    # The task carries what to erase or keep: the catalogue's rule for every table.
    task = await _task(h, request_id)
    assert (task["system"], task["status"], task["plan_id"]) == ("telephony", "open", plan["id"])
    assert timedelta(days=4, hours=23) < task["due_at"] - datetime.now(UTC) <= timedelta(days=5)
    step = ManualStep.from_json(task["instructions"])
    assert step.because == ("search_answer",) and step.action == "erase"
    [calls] = step.tables
    assert (calls.table, calls.action, calls.strategy, calls.restriction) == (
        "call_logs",
        "erase",
        "delete_row",
        "restricted",
    )
    [hold] = calls.holds
    assert hold.column == "case_number" and hold.condition == {"present": True}
    assert hold.reason.legal_basis == ("GDPR Art. 17(3)(e)",) and hold.reason.nb and hold.reason.en

    await run_once(h.erasure, h.pool)  # nothing to do until the agent confirms
    assert (await _plan(h, request_id))["status"] == "awaiting_manual"

    async with h.pool.acquire() as conn, conn.transaction():
        await confirm_task(
            conn,
            task["id"],
            actor="agent-kari",
            note="Call log shredded in the archive",
            counts={"erased": 1},
        )
    assert (await _plan(h, request_id))["status"] == "approved"
    async with h.pool.acquire() as conn, conn.transaction():
        with pytest.raises(TaskConflict):  # once only
            await confirm_task(conn, task["id"], actor="agent-ola", note="again")

    await run_once(h.erasure, h.pool)
    assert await h.status(request_id) == "completed"
    [cert] = await h.certificates(request_id)
    [confirmation] = cert["manual"]
    assert confirmation["system"] == "telephony" and confirmation["system_title"] == "Samtalelogg for telefon"
    assert confirmation["confirmed_by"] == "agent-kari" and confirmation["counts"] == {"erased": 1}
    assert confirmation["action"] == "erase"
    assert datetime.fromisoformat(confirmation["confirmed_at"]).date() == datetime.now(UTC).date()
    assert cert["rescan"]["clean"]

    documents = await _documents(h, request_id)
    html = documents["text/html; charset=utf-8"].decode()
    assert "Utført manuelt" in html and "Samtalelogg for telefon: agent-kari bekreftet" in html
    assert "slettingen er utført manuelt" in html and "Slettet: 1" in html
    pdf = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(documents["application/pdf"])).pages)
    assert "Utført manuelt" in pdf and "agent-kari" in pdf
    english = certificate_html(cert, "en")
    assert "Carried out by hand" in english
    assert "agent-kari confirmed on" in english and "Erased: 1." in english  # the words of a bokmål case

    # The audit trail: the task opened, the confirmation under the agent's name with the note.
    trail = await h.pool.fetch(
        "select actor, action, detail from audit_events where request_id = $1 order by seq", request_id
    )
    actions = [(e["actor"], e["action"]) for e in trail]
    assert ("fulfilment", "erasure.awaiting_manual") in actions
    [confirmed] = [e for e in trail if e["action"] == "erasure.manual_confirmed"]
    assert confirmed["actor"] == "agent-kari"
    assert confirmed["detail"]["system"] == "telephony"
    assert confirmed["detail"]["note"] == "Call log shredded in the archive"
    assert confirmed["detail"]["counts"] == {"erased": 1}
    assert actions.index(("agent-kari", "erasure.manual_confirmed")) < actions.index(
        ("fulfilment", "erasure_executed")
    )
    # each automated system was changed once
    assert await h.pool.fetchval("select count(*) from erasure_plan_systems") == len(done)


async def test_an_overdue_task_sends_the_request_to_review_naming_the_system(manual: Harness) -> None:
    h = manual
    request_id = await h.located("closed_case_debtor", answered={"telephony": True})
    # due tomorrow: the task may not be due after the request
    await h.pool.execute("update requests set due_date = current_date + 1 where id = $1", request_id)
    await h.fulfil(request_id)
    task = await _task(h, request_id)
    due_date = await h.pool.fetchval("select due_date from requests where id = $1", request_id)
    end_of_due_day = await h.pool.fetchval(
        "select ($1::date + 1)::timestamp at time zone 'Europe/Oslo'", due_date
    )
    assert task["due_at"] == min(end_of_due_day, task["created_at"] + timedelta(days=5))

    await h.pool.execute(
        "update manual_tasks set due_at = now() - interval '1 second' where id = $1", task["id"]
    )
    await run_once(h.erasure, h.pool)
    assert await h.status(request_id) == "needs_review"
    reason = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", request_id
    )
    assert reason.startswith("manual_erasure_overdue") and "telephony" in reason
    await run_once(h.erasure, h.pool)  # once per task
    reviews = await h.pool.fetchval(
        "select count(*) from request_status_history where request_id = $1 and status = 'needs_review'",
        request_id,
    )
    assert reviews == 1

    # The agent confirms late: the request returns to fulfilling and the plan ends.
    async with h.pool.acquire() as conn, conn.transaction():
        await confirm_task(conn, task["id"], actor="agent-ola", note="Done, late")
    assert await h.status(request_id) == "fulfilling"
    await run_once(h.erasure, h.pool)
    assert await h.status(request_id) == "completed"
    [cert] = await h.certificates(request_id)
    assert cert["manual"][0]["confirmed_by"] == "agent-ola" and cert["manual"][0]["counts"] == {}


async def test_a_search_answer_of_nothing_found_asks_nothing_of_the_agent(manual: Harness) -> None:
    h = manual
    request_id = await h.located("closed_case_debtor", answered={"telephony": False})
    await h.fulfil(request_id)
    assert await h.status(request_id) == "completed"
    assert await _task(h, request_id) is None
    [cert] = await h.certificates(request_id)
    assert cert["manual"] == []


def test_records_in_a_manual_system_carry_their_decisions_and_the_scope_decides_the_tables(
    catalogue: Catalogue,
) -> None:
    copy = manual_catalogue(catalogue, "marketing")
    facts = [
        RecordFacts("marketing", "newsletter_subscriptions", ("3",), None, readable=False),
        RecordFacts("debt_collection", "cases", ("1",), {"status": "closed", "legal_claim": False}),
    ]
    plan = build_plan(copy, facts, today=TODAY, manual_systems={"marketing"}, scope=Scope.erasure)
    [step] = plan.manual
    assert step.system == "marketing" and step.because == ("records",)
    [record] = step.records
    assert (record.table, record.key, record.action, record.reason_code) == (
        "newsletter_subscriptions",
        {"id": "3"},
        "restrict",
        "manual_system",
    )
    assert {t.table for t in step.tables} == set(copy.systems["marketing"].tables)
    assert "marketing" not in {s for s, _ in plan.by_system()}
    assert ErasurePlan.from_json(plan.to_json()) == plan

    # An unsubscribe concerns only the subscription; a restriction restricts; a phone log kept on
    # paper is nothing an unsubscribe asks about.
    unsubscribe = build_plan(
        copy,
        [],
        today=TODAY,
        found_by_agent={"marketing"},
        manual_systems={"marketing"},
        scope=Scope.newsletter_unsubscribe,
    )
    assert [t.table for t in unsubscribe.manual[0].tables] == ["newsletter_subscriptions"]
    restriction = build_plan(
        manual_catalogue(catalogue),
        [],
        today=TODAY,
        found_by_agent={"telephony"},
        manual_systems={"telephony"},
        scope=Scope.restriction,
    )
    assert restriction.manual[0].action == "restrict"
    assert {t.action for t in restriction.manual[0].tables} == {"restrict"}
    none = build_plan(
        manual_catalogue(catalogue),
        [],
        today=TODAY,
        found_by_agent={"telephony"},
        manual_systems={"telephony"},
        scope=Scope.newsletter_unsubscribe,
    )
    assert none.manual == ()
    # an agent's answer for a system that has an interface is no manual step
    assert build_plan(catalogue, [], today=TODAY, found_by_agent={"telephony"}).manual == ()
