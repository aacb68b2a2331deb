"""The re-scan after an erasure, end to end: a claim the plan anonymised with its case is found
again only through the invoice number of the invoice the plan referred to its controller (the
invoicing system is a processor). That is expected, and the certificate says why; a row that
genuinely came back still sends the request to a person."""

from __future__ import annotations

from tests.erasure.conftest import Harness

KARI = "02916510260"  # closed_case_debtor: her case is closed, so it is anonymised
INVOICE_ID = 990000010


async def _invoice_behind_the_claim(h: Harness) -> tuple[int, int, str]:
    """Kari's claim was an invoice we sent for the creditor before it went to collection (as the
    demo generator does for 30 % of claims): the invoicing system still holds it, under her
    national id, with the claim's invoice number. Returns (case id, claim id, invoice number)."""
    [claim] = await h.rows(
        "debt_collection",
        """select c.id, c.case_id, c.invoice_number from claims c join cases k on k.id = c.case_id
           where k.debtor_national_id = $1""",
        KARI,
    )
    invoicing = await h.source("invoicing")
    client_id = await invoicing.fetchval("select min(id) from clients")
    await invoicing.execute(
        """insert into invoices (id, invoice_number, client_id, customer_number, recipient_national_id,
                                 recipient_name, recipient_address, recipient_email, recipient_phone,
                                 issued_on, due_on, amount, status, restricted)
           values ($1, $2, $3, 'K-TEST-1', $4, 'Kari Fjellheim', 'Testveien 1, 5000 Bergen',
                   'kari.fjellheim@eksempel.no', '+4740000002', '2018-05-18', '2018-06-01', 1299.00,
                   'sent_to_collection', false)""",
        INVOICE_ID,
        claim["invoice_number"],
        client_id,
        KARI,
    )
    return claim["case_id"], claim["id"], claim["invoice_number"]


async def test_a_claim_found_again_only_through_the_referred_invoice_is_expected(fresh: Harness) -> None:
    _case_id, claim_id, _number = await _invoice_behind_the_claim(fresh)
    request_id = await fresh.located("closed_case_debtor")
    await fresh.fulfil(request_id)
    [cert] = await fresh.certificates(request_id)
    assert cert["rescan"]["unexpected"] == [], cert["rescan"]
    assert await fresh.status(request_id) == "completed"
    assert ("invoicing", "invoices") in {(e["system"], e["table"]) for e in cert["referred"]}
    assert ("debt_collection", "claims") in {(e["system"], e["table"]) for e in cert["anonymised"]}
    [expected] = cert["rescan"]["expected"]
    assert (expected["system"], expected["table"], expected["key"]) == (
        "debt_collection",
        "claims",
        [str(claim_id)],
    )
    assert expected["reason"]["code"] == "found_through_kept_identifier"
    assert expected["through"] == {
        "identifier": "invoice_number",
        "system": "invoicing",
        "table": "invoices",
        "key": [str(INVOICE_ID)],
        "action": "refer",
    }
    assert "reference number" in expected["reason"]["en"] and "referansenummer" in expected["reason"]["nb"]
    assert "Kari" not in str(cert["rescan"]) and KARI not in str(cert["rescan"])


async def test_a_claim_the_plan_never_covered_still_goes_to_a_person(fresh: Harness) -> None:
    """A claim stored under the same invoice number between planning and execution is found the
    same way, through the referred invoice; the plan never decided it, so it is a real leftover."""
    case_id, _claim_id, number = await _invoice_behind_the_claim(fresh)
    request_id = await fresh.located("closed_case_debtor")
    await fresh.deliver(request_id)
    debt = await fresh.source("debt_collection")
    await debt.execute(
        """insert into claims (id, case_id, invoice_number, description, principal, interest, fees, due_on,
                               restricted)
           values (990000011, $1, $2, 'Gebyr', 100, 0, 0, '2018-06-01', false)""",
        case_id,
        number,
    )
    await fresh.fulfil_pending()
    assert await fresh.status(request_id) == "needs_review"
    [cert] = await fresh.certificates(request_id)
    assert cert["rescan"]["clean"] is False
    assert cert["rescan"]["unexpected"] == [
        {"system": "debt_collection", "table": "claims", "key": ["990000011"]}
    ]
