"""The other rights on showcase subjects: rectification, objection, restriction and its lifting,
newsletter unsubscribe, marketing opt-out; and the recipients told of each change (Art. 19)."""

from __future__ import annotations

import json
import logging

import pytest

from schemas.requests import RequestType
from services.erasure.notices import recipients_told
from services.erasure.rectification import fingerprint_value
from services.erasure.rights import NoTask
from services.erasure.suppression import is_suppressed
from tests.erasure.conftest import HASH_KEY, Harness
from tests.support import behind


async def _outbox(h: Harness, request_id: object, event_type: str) -> list[dict[str, object]]:
    rows = await h.pool.fetch(
        "select value from outbox where request_id = $1 and event_type = $2 order by id",
        request_id,
        event_type,
    )
    return [json.loads(r["value"])["payload"] for r in rows]


async def test_rectification_corrects_only_rectifiable_columns_and_audits_old_and_new_hashed(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new_address = "Nyveien 99, 4014 Stavanger"
    request_id = await harness.located(
        "guarantor", RequestType.rectification, {"corrections": {"address": new_address}}
    )
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    [party] = await harness.rows(
        "debt_collection", "select address from case_parties where national_id = '23875910027'"
    )
    assert party["address"] == new_address
    [entry] = await harness.pool.fetch(
        "select detail from audit_events where request_id = $1 and action = 'rectified'", request_id
    )
    [change] = entry["detail"]["changes"]
    assert (change["table"], change["column"], change["holds_new"]) == ("case_parties", "address", True)
    assert change["old"] == fingerprint_value(
        HASH_KEY, "sjøbodveien 21, 4014 stavanger"
    )  # hashed, never clear
    assert change["new"] == fingerprint_value(HASH_KEY, new_address.casefold())
    assert "Sjøbodveien" not in json.dumps(entry["detail"], ensure_ascii=False)
    assert new_address not in caplog.text and "Sjøbodveien" not in caplog.text
    notices = await _outbox(harness, request_id, "recipient.notified")
    assert {n["recipient"] for n in notices} >= {"creditor", "postal_distribution"}
    assert all(
        n["change"] == "rectified" and n["tables"] == ["debt_collection.case_parties"] for n in notices
    )
    async with harness.pool.acquire() as conn:  # what a later access request's extract can list
        told = await recipients_told(conn, {"national_id": "23875910027"})
    assert {t["recipient"] for t in told} == {n["recipient"] for n in notices}
    assert all(t["change"] == "rectified" and t["reference"].startswith("DSR-TEST-") for t in told)


async def test_a_correction_of_a_column_that_is_not_rectifiable_goes_to_a_person(harness: Harness) -> None:
    request_id = await harness.located(
        "guarantor", RequestType.rectification, {"corrections": {"role": "debtor"}}
    )
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "needs_review"
    assert await harness.rows("debt_collection", "select 1 from case_parties where role = 'debtor'") == []


async def test_an_upheld_objection_restricts_what_rests_on_legitimate_interest(harness: Harness) -> None:
    request_id = await harness.located("guarantor", RequestType.objection)
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "needs_review"
    async with harness.pool.acquire() as conn, conn.transaction():
        await harness.rights.decide_objection(
            conn,
            request_id,
            actor="test-dpo",
            upheld=True,
            outcome="restrict",
            reason="No compelling grounds.",
        )
    await harness.fulfil_pending()
    assert await harness.status(request_id) == "completed"
    [party] = await harness.rows(
        "debt_collection", "select restricted from case_parties where national_id = '23875910027'"
    )
    assert party["restricted"] is True
    [aml] = await harness.rows("aml", "select restricted from aml_checks where national_id = '23875910027'")
    assert aml["restricted"] is False  # contract and legal obligation: not the objection's business
    decided = await harness.pool.fetchrow(
        "select status, decided_by, outcome from objection_tasks where request_id = $1", request_id
    )
    assert tuple(decided.values()) == ("upheld", "test-dpo", "restrict")
    with pytest.raises(NoTask):
        async with harness.pool.acquire() as conn, conn.transaction():
            await harness.rights.decide_objection(
                conn, request_id, actor="x", upheld=False, outcome=None, reason="again"
            )


async def test_restriction_is_marked_and_lifting_tells_the_subject_first(second: Harness) -> None:
    fresh = second
    request_id = await fresh.located("client_contact_aml", RequestType.restriction)
    await fresh.fulfil(request_id)
    assert await fresh.status(request_id) == "completed"
    [contact] = await fresh.rows(
        "crm", "select restricted from contacts where email = 'henrik.vangsnes@eksempel.no'"
    )
    assert contact["restricted"] is True  # still queryable, marked restricted
    with pytest.raises(NoTask):  # not before the subject has been told
        async with fresh.pool.acquire() as conn, conn.transaction():
            await fresh.rights.lift(conn, request_id, actor="test-agent")
    async with fresh.pool.acquire() as conn, conn.transaction():
        told = await fresh.rights.announce_lift(conn, request_id, actor="test-agent")
    [notice] = await _outbox(fresh, request_id, "subject.restriction_lifting")
    assert notice["record_count"] == told > 0
    async with fresh.pool.acquire() as conn, conn.transaction():
        assert await fresh.rights.lift(conn, request_id, actor="test-agent") == told
    [contact] = await fresh.rows(
        "crm", "select restricted from contacts where email = 'henrik.vangsnes@eksempel.no'"
    )
    assert contact["restricted"] is False
    notices = await _outbox(fresh, request_id, "recipient.notified")
    assert notices and all(n["change"] == "restricted" for n in notices)


async def test_unsubscribe_deletes_the_subscription_and_opt_out_suppresses_at_once(second: Harness) -> None:
    fresh = second
    request_id = await fresh.located("newsletter_only", RequestType.newsletter_unsubscribe)
    await fresh.fulfil(request_id)
    assert await fresh.status(request_id) == "completed"
    subscriptions = await behind.table_rows(fresh.demo, "marketing", "newsletter_subscriptions")
    assert [s for s in subscriptions if s["email"] == "siri.solstad@eksempel.no"] == []

    opt_out = await fresh.located("open_case_debtor", RequestType.marketing_opt_out)
    async with fresh.pool.acquire() as conn:
        assert not await is_suppressed(conn, HASH_KEY, {"phone": "40000001"})
    await fresh.deliver(opt_out)  # suppressed with the event, before any worker runs
    async with fresh.pool.acquire() as conn:
        assert await is_suppressed(conn, HASH_KEY, {"phone": "40000001"})
        assert await is_suppressed(conn, HASH_KEY, {"national_id": "148378 10060"})
        stored = await conn.fetch("select hash from suppressions")
    assert all("14837810060" not in r["hash"] and "@" not in r["hash"] for r in stored)
    await fresh.fulfil_pending()
    assert await fresh.status(opt_out) == "completed"
    [case] = await fresh.rows(
        "debt_collection", "select restricted from cases where debtor_national_id = '14837810060'"
    )
    assert case["restricted"] is False  # an opt-out touches marketing only
