"""Pure fulfilment tests: the real catalogue, records shaped like the demo's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.fulfilment.extract import Company, HeldRecord

COMPANY = Company("Inkasso og Faktura AS", "Personvernombudet", "personvernombud@example.no", "+4722000000")
RECEIVED = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue("catalogue")


def case_row(**changes: object) -> HeldRecord:
    data: dict[str, object] = {
        "id": 11,
        "case_number": "INK-2025-000011",
        "creditor": "Nordlys Energi AS",
        "status": "open",
        "opened_on": date(2025, 11, 4),
        "closed_on": None,
        "legal_claim": False,
        "debtor_national_id": "14837810060",
        "debtor_name": "Ola Nordmann",
        "debtor_address": "Mølleveien 7, 0182 Oslo",
        "debtor_phone": "+4740000001",
        "debtor_email": "ola.nordmann@eksempel.no",
        "restricted": False,
    }
    data.update(changes)
    return HeldRecord("debt_collection", "cases", {"id": str(data["id"])}, ("user.case.reference",), data)


def ledger_row(
    counterparty: str, account: str = "15030012345", entry: int = 5, amount: str = "700.00"
) -> HeldRecord:
    data = {
        "id": entry,
        "voucher_number": f"V-{entry}",
        "booked_on": date(2026, 2, 1),
        "account": "1920",
        "amount": Decimal(amount),
        "description": "Innbetaling",
        "counterparty_name": counterparty,
        "counterparty_account": account,
        "case_number": "INK-2025-000011",
        "invoice_number": None,
        "restricted": False,
    }
    return HeldRecord("accounting", "ledger_entries", {"id": str(entry)}, ("user.financial.payment",), data)


def note_row(health: str | None) -> HeldRecord:
    data = {
        "id": 3,
        "case_id": 11,
        "written_at": datetime(2026, 3, 2, 11, 5, tzinfo=UTC),
        "author": "agent-nils",
        "note": "Skyldner ringte.",
        "health_note": health,
        "restricted": False,
    }
    return HeldRecord("debt_collection", "case_notes", {"id": "3"}, ("user.case.note",), data)
