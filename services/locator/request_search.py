"""The search a request asks for, as the ledger says it now: its identifiers, a person's resolution
of an ambiguity (the values they said are shared), a confirmed-email-only scope, and manual systems
already answered. The locator's flow and the erasure re-scan both search this way, so a re-scan
sees exactly what the first search could see."""

from __future__ import annotations

import uuid

import asyncpg

from services.catalogue.model import IdentifierType
from services.locator.locate import Located, Locator, Outcome
from services.locator.manual import answered_systems
from services.locator.review import read_resolution
from services.locator.scope import EMAIL_DIRECT
from services.locator.store import read_scope, read_seeds


async def search_request(conn: asyncpg.Connection, locator: Locator, request_id: uuid.UUID) -> Outcome:
    seeds = await read_seeds(conn, request_id)
    answered = await answered_systems(conn, request_id)
    resolution = await read_resolution(conn, request_id)
    if resolution is not None:
        if resolution.nobody:  # a person decided none of the people found is the subject
            return Located([], 0, 0, 0)
        return await locator.locate({**resolution.seeds, **seeds}, resolution.shared, answered)
    if not seeds:
        return Located([], 0, 0, 0)
    if await read_scope(conn, request_id) == EMAIL_DIRECT:  # a confirmed email only (issue 11)
        email = seeds.get(IdentifierType.email)
        return (
            Located([], 0, 0, 0)
            if email is None
            else await locator.locate_direct(IdentifierType.email, email)
        )
    return await locator.locate(seeds, answered=answered)
