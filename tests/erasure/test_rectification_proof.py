"""Rectification on the real demo systems, proven by reading every found row back: PostgreSQL
columns corrected (one by following its old value), the old number kept in the SQLite call log
named to the subject with its reason; a write that puts an old value back leaves the request to
a person. The proof is stored and audited with values only as keyed hashes.

Both run on the shared `rights_demo` load and a ledger of the module's own, each on a debtor of
its own; what a test corrects, and the trigger it adds, are undone after it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import asyncpg
import pytest

from schemas.requests import RequestType
from services.catalogue.model import Catalogue
from services.demo.loader import DemoSystems
from tests.erasure.conftest import Harness, close, harness_for
from tests.erasure.test_consent_withdrawal import notice_texts
from tests.support import behind
from tests.support.catalogue_texts import leaked

NEW_ADDRESS = "Nygata 5, 0159 Oslo"


DEBTORS = ("14837810060", "02916510260")  # open_case_debtor, closed_case_debtor
CORRECTED = (
    ("debt_collection", "cases", "debtor_national_id"),
    ("population_register", "address_updates", "national_id"),
)
"""Where a correction of the debtors' address or phone lands (the proofs below list exactly these)."""


@pytest.fixture(scope="module")
async def shared(
    catalogue: Catalogue, rights_demo: DemoSystems, module_pool: asyncpg.Pool
) -> AsyncIterator[Harness]:
    h = await harness_for(catalogue, rights_demo, module_pool)
    yield h
    await close(h)


@pytest.fixture
async def proof(shared: Harness) -> AsyncIterator[Harness]:
    """The shared load with the debtors' rows put back as they were after the test."""
    kept: list[tuple[asyncpg.Pool, str, list[asyncpg.Record]]] = []
    for system, table, owner in CORRECTED:
        source = await shared.source(system)
        rows = await source.fetch(f"select * from {table} where {owner} = any($1::text[])", list(DEBTORS))
        assert rows, f"{system}.{table}: the debtors' rows are not as loaded"
        kept.append((source, table, rows))
    try:
        yield shared
    finally:
        for source, table, rows in kept:
            columns = [c for c in dict(rows[0]) if c != "id"]
            assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
            await source.executemany(
                f"update {table} set {assignments} where id = $1",
                [(row["id"], *(row[c] for c in columns)) for row in rows],
            )


async def _audit(h: Harness, request_id: object, action: str) -> dict[str, object]:
    detail: dict[str, object] = await h.pool.fetchval(
        "select detail from audit_events where request_id = $1 and action = $2 order by id desc limit 1",
        request_id,
        action,
    )
    return detail


async def test_rectification_is_read_back_and_proven_across_engines(proof: Harness) -> None:
    h = proof
    request_id = await h.located(
        "open_case_debtor",
        RequestType.rectification,
        {"corrections": {"address": NEW_ADDRESS, "debt_collection.cases.debtor_phone": "912 34 567"}},
    )
    await h.fulfil(request_id)
    why = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", request_id
    )
    assert await h.status(request_id) == "completed", why
    [case] = await h.rows(
        "debt_collection",
        "select debtor_address, debtor_phone from cases where debtor_national_id = '14837810060'",
    )
    assert case["debtor_address"] == NEW_ADDRESS  # followed: it held the corrected address
    assert case["debtor_phone"] == "+4791234567"  # written as the locator stores phones
    [update] = await h.rows(
        "population_register",
        "select address, previous_address from address_updates where national_id = '14837810060'",
    )
    assert update["address"] == NEW_ADDRESS and update["previous_address"] == "Storgata 1, 0155 Oslo"
    call = await behind.record(h.demo, "telephony", "call_logs", 1)
    assert call is not None and call["phone"] == "+4740000001"  # a record of the call: kept as it was

    stored = await h.pool.fetchrow(
        "select verified, proof from rectification_proofs where request_id = $1", request_id
    )
    assert stored["verified"] is True
    record = stored["proof"]
    found = await h.pool.fetchval("select count(*) from findings where request_id = $1", request_id)
    assert record["rows_checked"] == found and "telephony" in record["systems"]
    assert {(c["table"], c["column"], c["followed"]) for c in record["corrected"]} == {
        ("address_updates", "address", False),
        ("cases", "debtor_address", True),
        ("cases", "debtor_phone", False),
    }
    assert record["old_value_left"] == [] and record["new_value_missing"] == []
    kept = {(k["system"], k["table"], k["column"]): k for k in record["kept_as_is"]}
    assert set(kept) == {("telephony", "call_logs", "phone"), ("debt_collection", "letters", "address")}
    assert kept[("debt_collection", "letters", "address")]["rows"] == 3  # each letter, where it was sent
    assert record["skipped"] == ["correspondence.emails.address"]  # an email address is no postal address

    audited = json.dumps(
        [await _audit(h, request_id, "rectified"), await _audit(h, request_id, "rectification_proof")],
        ensure_ascii=False,
    )
    for clear in ("Mølleveien", "Nygata", "40000001", "91234567"):
        assert clear not in audited
    history = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 and status = 'completed'", request_id
    )
    assert "read back" in history

    # The proof keeps the catalogue's words in both languages; the notice says them in the request's
    # (bokmål here), the systems and registers as the catalogue names them, the reasons too.
    assert kept[("telephony", "call_logs", "phone")]["system_title"] == {
        "nb": "Samtalelogg for telefon",
        "en": "Phone call logs",
    }
    texts = await notice_texts(h, request_id)
    assert (
        "Samtalelogg for telefon (Én telefonsamtale, med saksbehandlerens sammendrag) har fortsatt den "
        "gamle verdien" in texts["nb"]
    )
    assert "Inkasso (Brev sendt i en sak" in texts["nb"] and "hva som ble sendt, og hvor" in texts["nb"]
    assert "Vi rettet 3 opplysninger i 2 poster." in texts["nb"]
    assert "Samtaleloggen viser nummeret" in texts["nb"]
    assert leaked(h.catalogue, "nb", texts["nb"]) == []
    # the English template's own words, and the reasons it takes in English
    assert "record of the call" in texts["en"] and f"{found} records" in texts["en"]
    assert "what was sent, and where" in texts["en"] and "We corrected 3 values in 2 records." in texts["en"]


@pytest.fixture
async def address_kept(proof: Harness) -> AsyncIterator[Harness]:
    """Another writer puts the old address back as it is corrected (removed after the test)."""
    source = await proof.source("population_register")
    await source.execute(
        """create function keep_address() returns trigger language plpgsql as $$
           begin new.address := old.address; return new; end $$"""
    )
    await source.execute(
        "create trigger keep_address before update on address_updates for each row execute function keep_address()"
    )
    try:
        yield proof
    finally:  # dropped before `proof` puts the rows back, which the trigger would stop
        await source.execute("drop trigger keep_address on address_updates; drop function keep_address()")


async def test_an_old_value_put_back_is_no_success(address_kept: Harness) -> None:
    h = address_kept
    request_id = await h.located(
        "closed_case_debtor",
        RequestType.rectification,
        {"corrections": {"address": "Bryggen 1, 5003 Bergen"}},
    )
    await h.fulfil(request_id)
    assert await h.status(request_id) == "needs_review"
    reason = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", request_id
    )
    assert reason.startswith("rectification_unproven: population_register.address_updates.address")
    assert "Fjellstien" not in reason and "Bryggen" not in reason
    stored = await h.pool.fetchrow(
        "select verified, proof from rectification_proofs where request_id = $1", request_id
    )
    assert stored["verified"] is False
    # what was written lands where `proof` puts it back
    assert {(c["system"], c["table"]) for c in stored["proof"]["corrected"]} <= {
        (s, t) for s, t, _ in CORRECTED
    }
    assert not await h.pool.fetchval(
        "select count(*) from outbox where request_id = $1 and event_type = 'request.fulfilled'", request_id
    )
