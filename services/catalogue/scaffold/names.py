"""What a column's name suggests it holds (English and Norwegian names). Pure.

A name is only a hint: `classify.py` weighs it against the column's type and sampled values (a
column called `ref` holding national ids is an identifier; `email_sent` holding booleans is not).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum


class Hint(StrEnum):
    national_id = "national_id"
    email = "email"
    phone = "phone"
    case_number = "case_number"
    customer_number = "customer_number"
    invoice_number = "invoice_number"
    birth_date = "birth_date"
    address = "address"
    bank_account = "bank_account"
    person_name = "person_name"
    org_number = "org_number"
    health = "health"
    free_text = "free_text"
    processing = "processing"
    """A system's own marker: a restriction flag, when a row was written, who handled it."""
    organisation_name = "organisation_name"


_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "é": "e", "ü": "u", "ö": "o", "ä": "a"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def tokens(name: str) -> tuple[str, ...]:
    """`debtorNationalId`, `debtor_national_id`, `Debtor National-ID` -> (debtor, national, id)."""
    spaced = _CAMEL.sub("_", name)
    return tuple(t for t in _SPLIT.split(spaced.lower().translate(_FOLD)) if t)


_NUMBER = frozenset({"number", "no", "nr", "num", "nummer", "ref", "reference", "referanse"})
_ABOUT = frozenset(
    {
        "sent", "verified", "verify", "count", "status", "flag", "opt", "optin", "optout", "consent",
        "template", "subject", "body", "bounced", "bounce", "enabled", "type", "kind", "confirmed",
        "valid", "format", "domain", "provider", "hash", "hashed", "changed", "updated", "at", "on",
        "date", "time", "sendt", "bekreftet",
    }
)  # fmt: skip
"""Words after an identifier word that make the column about the identifier, not the identifier
itself (`email_sent`, `phone_verified_at`)."""

_COMPOUNDS: dict[str, Hint] = {
    "fnr": Hint.national_id,
    "fodselsnummer": Hint.national_id,
    "fodselsnr": Hint.national_id,
    "personnummer": Hint.national_id,
    "personnr": Hint.national_id,
    "ssn": Hint.national_id,
    "nin": Hint.national_id,
    "dnr": Hint.national_id,
    "dnummer": Hint.national_id,
    "nationalid": Hint.national_id,
    "email": Hint.email,
    "epost": Hint.email,
    "mail": Hint.email,
    "emailaddress": Hint.email,
    "epostadresse": Hint.email,
    "phone": Hint.phone,
    "telephone": Hint.phone,
    "telefon": Hint.phone,
    "telefonnummer": Hint.phone,
    "telefonnr": Hint.phone,
    "tlf": Hint.phone,
    "tel": Hint.phone,
    "mobile": Hint.phone,
    "mobil": Hint.phone,
    "mobilnummer": Hint.phone,
    "mobilnr": Hint.phone,
    "msisdn": Hint.phone,
    "cellphone": Hint.phone,
    "phonenumber": Hint.phone,
    "saksnummer": Hint.case_number,
    "saksnr": Hint.case_number,
    "casenumber": Hint.case_number,
    "caseno": Hint.case_number,
    "kundenummer": Hint.customer_number,
    "kundenr": Hint.customer_number,
    "customernumber": Hint.customer_number,
    "customerno": Hint.customer_number,
    "fakturanummer": Hint.invoice_number,
    "fakturanr": Hint.invoice_number,
    "invoicenumber": Hint.invoice_number,
    "invoiceno": Hint.invoice_number,
    "dob": Hint.birth_date,
    "birthday": Hint.birth_date,
    "birthdate": Hint.birth_date,
    "fodselsdato": Hint.birth_date,
    "fodt": Hint.birth_date,
    "born": Hint.birth_date,
    "address": Hint.address,
    "adresse": Hint.address,
    "addr": Hint.address,
    "street": Hint.address,
    "postadresse": Hint.address,
    "gateadresse": Hint.address,
    "bostedsadresse": Hint.address,
    "postcode": Hint.address,
    "zip": Hint.address,
    "postnummer": Hint.address,
    "iban": Hint.bank_account,
    "kontonr": Hint.bank_account,
    "kontonummer": Hint.bank_account,
    "bankkonto": Hint.bank_account,
    "orgnr": Hint.org_number,
    "orgnummer": Hint.org_number,
    "organisasjonsnummer": Hint.org_number,
    "health": Hint.health,
    "helse": Hint.health,
    "medical": Hint.health,
    "diagnosis": Hint.health,
    "diagnose": Hint.health,
    "sykdom": Hint.health,
    "name": Hint.person_name,
    "navn": Hint.person_name,
    "fornavn": Hint.person_name,
    "etternavn": Hint.person_name,
    "surname": Hint.person_name,
    "firstname": Hint.person_name,
    "lastname": Hint.person_name,
    "fullname": Hint.person_name,
    "note": Hint.free_text,
    "notes": Hint.free_text,
    "notat": Hint.free_text,
    "summary": Hint.free_text,
    "message": Hint.free_text,
    "melding": Hint.free_text,
    "body": Hint.free_text,
    "comment": Hint.free_text,
    "comments": Hint.free_text,
    "kommentar": Hint.free_text,
    "answers": Hint.free_text,
    "answer": Hint.free_text,
    "svar": Hint.free_text,
    "remarks": Hint.free_text,
    "fritekst": Hint.free_text,
    "subject": Hint.free_text,
    "emne": Hint.free_text,
}
"""Single words (and words run together) that suggest what a column holds."""

_PAIRS: dict[tuple[str, ...], Hint] = {
    ("national", "id"): Hint.national_id,
    ("national", "identity"): Hint.national_id,
    ("birth", "number"): Hint.national_id,
    ("personal", "number"): Hint.national_id,
    ("person", "number"): Hint.national_id,
    ("d", "number"): Hint.national_id,
    ("e", "mail"): Hint.email,
    ("e", "post"): Hint.email,
    ("date", "of", "birth"): Hint.birth_date,
    ("birth", "date"): Hint.birth_date,
    ("born", "on"): Hint.birth_date,
    ("bank", "account"): Hint.bank_account,
    ("account", "number"): Hint.bank_account,
    ("account", "no"): Hint.bank_account,
    ("account", "nr"): Hint.bank_account,
    ("konto", "nr"): Hint.bank_account,
    ("org", "number"): Hint.org_number,
    ("org", "no"): Hint.org_number,
    ("org", "nr"): Hint.org_number,
    ("organisation", "number"): Hint.org_number,
    ("organization", "number"): Hint.org_number,
    ("first", "name"): Hint.person_name,
    ("last", "name"): Hint.person_name,
    ("full", "name"): Hint.person_name,
    ("free", "text"): Hint.free_text,
    ("created", "at"): Hint.processing,
    ("updated", "at"): Hint.processing,
    ("modified", "at"): Hint.processing,
    ("inserted", "at"): Hint.processing,
    ("created", "by"): Hint.processing,
    ("updated", "by"): Hint.processing,
    ("modified", "by"): Hint.processing,
}
"""Words in a row: `national_id`, `date_of_birth`, `org_number`."""

_REFERENCE_OWNERS: dict[str, Hint] = {
    "case": Hint.case_number,
    "sak": Hint.case_number,
    "saks": Hint.case_number,
    "customer": Hint.customer_number,
    "kunde": Hint.customer_number,
    "invoice": Hint.invoice_number,
    "faktura": Hint.invoice_number,
}
"""`case` + `number`/`no`/`nr`/`ref` is a case number, and so on."""

_PROCESSING_WORDS = frozenset({"restricted", "restriction", "sperret", "agent", "author", "saksbehandler"})

ORGANISATION_WORDS = frozenset(
    {
        "org", "organisation", "organization", "organisasjon", "company", "companies", "firm", "firma",
        "creditor", "creditors", "kreditor", "client", "clients", "klient", "supplier", "suppliers",
        "vendor", "vendors", "leverandor", "employer", "bank", "merchant", "organisations",
        "organizations",
    }
)  # fmt: skip
"""Words that make a `name` an organisation's name (in the column's or the table's name)."""

_NOT_A_PERSON = frozenset(
    {
        "list", "newsletter", "product", "event", "file", "asset", "survey", "title", "table", "field",
        "user", "display", "host", "domain", "tag", "category", "plan", "campaign", "project", "city",
        "street", "country", "document", "template", "brand", "service", "system", "app", "device",
    }
)  # fmt: skip
"""Words that make a `name` the name of a thing."""

IDENTIFIER_HINTS = (
    Hint.national_id,
    Hint.email,
    Hint.phone,
    Hint.case_number,
    Hint.customer_number,
    Hint.invoice_number,
)


def hints(name: str, table: str = "", parents: Sequence[str] = ()) -> list[Hint]:
    """What the column's name suggests, the strongest first; `table` (and for an API field its
    parent objects) tells an organisation's name from a person's."""
    words = tokens(name)
    context = set(tokens(table)) | {t for parent in parents for t in tokens(parent)}
    found: list[Hint] = []

    def add(hint: Hint, end: int) -> None:
        # `email_sent`, `phone_verified_at`: about the identifier, not the identifier.
        if hint in IDENTIFIER_HINTS and any(w in _ABOUT for w in words[end:]):
            return
        if hint not in found:
            found.append(hint)

    for size in (3, 2):
        for start in range(len(words) - size + 1):
            hint = _PAIRS.get(tuple(words[start : start + size]))
            if hint is not None:
                add(hint, start + size)
    for index, word in enumerate(words):
        owner = _REFERENCE_OWNERS.get(word)
        if owner is not None and index + 1 < len(words) and words[index + 1] in _NUMBER:
            add(owner, index + 2)
    for index, word in enumerate(words):
        hint = _COMPOUNDS.get(word)
        if hint is not None:
            add(hint, index + 1)
        elif word in _PROCESSING_WORDS:
            add(Hint.processing, index + 1)
    joined = "".join(words)
    if not found and joined in _COMPOUNDS:
        add(_COMPOUNDS[joined], len(words))
    only_name = not set(words) - {"name", "navn"}
    if Hint.person_name in found and (set(words) & _NOT_A_PERSON or Hint.email in found):
        found.remove(Hint.person_name)
    elif Hint.person_name in found and (
        set(words) & ORGANISATION_WORDS or (context & ORGANISATION_WORDS and only_name)
    ):
        found[found.index(Hint.person_name)] = Hint.organisation_name
    elif not found and words and set(words) <= ORGANISATION_WORDS:
        found.append(Hint.organisation_name)  # `creditor`, `employer`: who, by name
    if Hint.address in found and (Hint.email in found or {"ip", "mac", "url", "web"} & set(words)):
        found.remove(Hint.address)
    if Hint.national_id in found and Hint.birth_date in found:
        found.remove(Hint.birth_date)  # `birth_number` is the national id
    return found
