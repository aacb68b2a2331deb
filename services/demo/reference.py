"""Organisations every demo holds: the clients (creditors and invoicing clients) and the CRM's
prospects, suppliers and authorities. Not personal data; the same for every seed."""

from __future__ import annotations

from dataclasses import dataclass

from services.demo import vocabulary
from services.demo.mod11 import organisation_number
from services.demo.rows import Emitter
from services.demo.tables import CLIENTS, ORGANISATIONS


@dataclass(frozen=True)
class Organisation:
    crm_id: int
    client_id: int | None
    name: str
    org_number: str
    kind: str


def emit_reference_data(em: Emitter) -> list[Organisation]:
    """Clients appear both as invoicing clients and CRM organisations, with one org number."""
    organisations: list[Organisation] = []
    serial = 1_000_000
    groups = (
        ("client", vocabulary.CLIENTS),
        ("prospect", vocabulary.PROSPECTS),
        ("supplier", vocabulary.SUPPLIERS),
        ("authority", vocabulary.AUTHORITIES),
    )
    for kind, names in groups:
        for name in names:
            number = None
            while number is None:
                serial += 7919
                number = organisation_number(serial)
            crm_id = em.add(ORGANISATIONS, (em.new_id(ORGANISATIONS), number, name, kind))
            client_id = em.add(CLIENTS, (em.new_id(CLIENTS), name, number)) if kind == "client" else None
            organisations.append(Organisation(crm_id, client_id, name, number, kind))
    return organisations


def clients(organisations: list[Organisation]) -> list[Organisation]:
    return [org for org in organisations if org.client_id is not None]
