"""The access extract (Art. 15): every record held on the subject, each with why it is held. Pure.

Each record carries the fields `system`, `table`, `data` (the subject's own fields), `categories`,
`purpose`, `legal_basis`, `recipients`, `retention` (rule and, where one can be computed, the
date) and `source` (who the data came from when not from the subject, Art. 15(1)(g)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.catalogue.model import Catalogue, RetentionKind, Table, period_parts
from services.intake.domain.deadline import add_months

SUBJECT_SOURCE = "the_subject"


@dataclass(frozen=True)
class HeldRecord:
    """One row found for the subject, with its content as read from the source system."""

    system: str
    table: str
    primary_key: dict[str, str]
    categories: tuple[str, ...]
    data: dict[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _add_period(day: date, period: str) -> date:
    years, months, days = period_parts(period)
    return add_months(day, 12 * years + months) + timedelta(days=days)


def retention(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """The rule in words and, for a period after a date this row holds, the date itself."""
    if table.retention is None:
        return {"rule": "Kept while the purpose lasts.", "date": None}
    rule = table.retention
    until = None
    if rule.kind is RetentionKind.after_date and rule.anchor and "." not in rule.anchor and rule.period:
        anchor = data.get(rule.anchor)
        if isinstance(anchor, datetime):
            anchor = anchor.date()
        if isinstance(anchor, date):
            until = _add_period(anchor, rule.period).isoformat()
    return {"rule": rule.description, "date": until}


def subject_fields(table: Table, data: dict[str, Any]) -> dict[str, Any]:
    """The row's fields without internal keys and processing flags (categories under `system.`)."""
    return {
        column: _plain(data.get(column))
        for column, spec in table.columns.items()
        if not all(category.startswith("system.") for category in spec.categories)
    }


def holds_special_category(catalogue: Catalogue, records: list[HeldRecord]) -> bool:
    """Art. 9 data (health, ...) with a value in it: a person must confirm its release."""
    flat = catalogue.taxonomy.flatten()
    for record in records:
        for column, spec in catalogue.systems[record.system].tables[record.table].columns.items():
            special = any(flat[c].special for c in spec.categories if c in flat)
            if special and record.data.get(column) not in (None, ""):
                return True
    return False


def is_processor_data(catalogue: Catalogue, system: str) -> bool:
    """Held for a client as its processor: not released as ours, the request goes to the client."""
    return catalogue.systems[system].role.kind == "processor"


def assemble(
    catalogue: Catalogue,
    *,
    reference: str,
    received_at: datetime,
    records: list[HeldRecord],
    generated_at: datetime,
    controllers: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The extract; rows held as a processor are named by their controllers, not released."""
    recipients = catalogue.parties.recipients
    sources = catalogue.parties.sources
    entries = []
    ours = [r for r in records if not is_processor_data(catalogue, r.system)]
    referred = [
        {
            "system": system,
            "system_title": catalogue.systems[system].title,
            "controllers": sorted(names),
            "why": "We hold this data only as the controller's processor; your request has been passed to them.",
        }
        for system, names in sorted((controllers or {}).items())
    ]
    for record in sorted(ours, key=lambda r: (r.system, r.table, sorted(r.primary_key.items()))):
        table = catalogue.systems[record.system].tables[record.table]
        entries.append(
            {
                "system": record.system,
                "system_title": catalogue.systems[record.system].title,
                "table": record.table,
                "data": subject_fields(table, record.data),
                "categories": list(record.categories),
                "purpose": table.purpose,
                "legal_basis": [f"GDPR Art. {basis}" for basis in table.legal_basis],
                "recipients": [recipients[r].name if r in recipients else r for r in table.recipients],
                "retention": retention(table, record.data),
                "source": [
                    sources[s].name if s in sources else s for s in table.sources if s != SUBJECT_SOURCE
                ],
                "automated_decision": table.automated_decision.model_dump()
                if table.automated_decision
                else None,
            }
        )
    return {
        "reference": reference,
        "received_at": received_at.isoformat(),
        "generated_at": generated_at.isoformat(),
        "record_count": len(entries),
        "summary": "We hold no personal data about you."
        if not entries
        else f"We hold {len(entries)} records about you.",
        "records": entries,
        "referred_to_controllers": referred,
    }
