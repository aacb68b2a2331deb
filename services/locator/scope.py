"""The confirmed-email scope (issue 11): which rows an email alone may open, and what the extract
says about the rest. Pure.

A mailbox can be shared (a family's); control of it proves nothing about who the person is. So on
email alone only rows that hold that email themselves are the subject's, and of those only rows
that name no national id and no case: a debtor's case file is never opened by an email.
"""

from __future__ import annotations

from typing import Any

from services.catalogue.model import IdentifierType
from services.locator.search import Finding, RowKey
from services.systems.contract import SourceRow
from services.systems.plan import SystemPlan

EMAIL_DIRECT = "email_direct"

# Identifier kinds that tie a row to an identified person or a case file: left out on email alone.
WITHHELD_KINDS = frozenset({IdentifierType.national_id, IdentifierType.case_number})


def direct_findings(
    plan: SystemPlan, kind: IdentifierType, value: str, rows: list[SourceRow]
) -> list[Finding]:
    """The rows of one system's answer that hold `value` in a `kind` column and nothing withheld."""
    found = []
    for table_name, key, _parent, values in rows:
        table = plan.tables[table_name]
        named = dict(zip((c.name for c in table.identifiers), values, strict=True))
        column = next((c for c in table.identifiers if c.kind is kind and named[c.name] == value), None)
        if column is None:
            continue
        if any(named[c.name] is not None for c in table.identifiers if c.kind in WITHHELD_KINDS):
            continue
        row = RowKey(plan.name, table_name, tuple(key))
        chain = (
            {"via": "request", "kind": kind.value},
            {
                "via": kind.value,
                "system": plan.name,
                "table": table_name,
                "key": list(key),
                "column": column.name,
            },
        )
        found.append(Finding(row, table.primary_key, table.categories, chain))
    return found


_NOTE = {
    "nb": {
        "limited_to": "Bare opplysninger vi fant direkte på e-postadressen du bekreftet.",
        "left_out": (
            "Opplysninger knyttet til fødselsnummer eller saksnummer, og det vi fant gjennom andre "
            "opplysninger, er ikke tatt med: en e-postadresse kan deles av flere."
        ),
        "how_to_get": (
            "Logg inn i Plan & Pay med BankID, eller ring kundeservice og bekreft identiteten din, "
            "så sender vi alt vi har om deg."
        ),
    },
    "en": {
        "limited_to": "Only data we found directly by the email address you confirmed.",
        "left_out": (
            "Data tied to a national identity number or a case number, and anything reached through "
            "other details, is left out: an email address can be shared."
        ),
        "how_to_get": (
            "Sign in to Plan & Pay with BankID, or call customer service and confirm your identity, "
            "and we will send everything we hold about you."
        ),
    },
}


def scope_note(scope: str | None, language: str) -> dict[str, Any] | None:
    """The extract's `scope` field: what it is limited to, what was left out, how to get the rest."""
    if scope != EMAIL_DIRECT:
        return None
    return {"scope": EMAIL_DIRECT, **_NOTE["en" if language == "en" else "nb"]}
