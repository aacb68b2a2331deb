"""Ambiguous matches: the candidates the locator found, and a person's choice between them.

Only the chosen candidate's identifiers stay in the ledger once a person has decided.

The locator never merges two people. When a search leads to more than one, it stores who they are
(`save_review`); an agent chooses the right one or none (`resolve_ambiguity`), and the waiting
search runs again with that choice (`read_resolution`): the chosen person's identifiers as seeds,
the values the people share no longer enough on their own. "None" means none of the rows found
are the subject's: the search concludes with no findings.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from schemas.requests import RequestStatus
from services.catalogue.model import IdentifierType
from services.locator.search import Candidate
from services.locator.store import record_wait
from services.runtime.ledger import audit, change_status, lock_request


class ReviewConflict(Exception):
    """The request has no open ambiguity to resolve, or the choice is not one of its candidates."""


@dataclass(frozen=True)
class Resolution:
    """What the search uses after a human chose: extra seeds and shared values, or nobody."""

    nobody: bool
    seeds: dict[IdentifierType, str]
    shared: frozenset[tuple[IdentifierType, str]]


@dataclass(frozen=True)
class OpenReview:
    candidates: list[Candidate]
    resolved: bool


async def save_review(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    candidates: tuple[Candidate, ...],
    shared: tuple[tuple[str, str], ...],
) -> None:
    """Store (or replace, after a search that was ambiguous again) the candidates of a request."""
    await conn.execute(
        """insert into locator_reviews (request_id, candidates, shared) values ($1, $2, $3)
           on conflict (request_id) do update
               set candidates = excluded.candidates, shared = excluded.shared, created_at = now(),
                   resolution = null, resolved_by = null, resolved_at = null""",
        request_id,
        [asdict(candidate) for candidate in candidates],
        [list(pair) for pair in shared],
    )


async def read_review(conn: asyncpg.Connection, request_id: uuid.UUID) -> OpenReview | None:
    row = await conn.fetchrow(
        "select candidates, resolution from locator_reviews where request_id = $1", request_id
    )
    if row is None:
        return None
    candidates = [Candidate(c["identifiers"], c["systems"]) for c in row["candidates"]]
    return OpenReview(candidates, row["resolution"] is not None)


def resolution_from(
    candidates: list[dict[str, Any]], shared: list[list[str]], choice: int | None
) -> Resolution:
    """The search's inputs for a choice. Pure."""
    pairs = frozenset((IdentifierType(kind), value) for kind, value in shared)
    if choice is None:
        return Resolution(True, {}, pairs)
    seeds: dict[IdentifierType, str] = {}
    for kind, values in candidates[choice]["identifiers"].items():
        if len(values) == 1:  # a kind with two values of one person's cannot seed one search
            seeds[IdentifierType(kind)] = values[0]
    return Resolution(False, seeds, pairs)


async def read_resolution(conn: asyncpg.Connection, request_id: uuid.UUID) -> Resolution | None:
    resolution = await conn.fetchval(
        "select resolution from locator_reviews where request_id = $1", request_id
    )
    if resolution is None:
        return None
    return Resolution(
        resolution["choice"] is None,
        {IdentifierType(kind): value for kind, value in resolution["seeds"].items()},
        frozenset((IdentifierType(kind), value) for kind, value in resolution["shared"]),
    )


async def resolve_ambiguity(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, choice: int | None, actor: str
) -> None:
    """Record the choice (a candidate's index, or None for none of them) and send the request back
    to the locator, whose retry loop searches it again at once."""
    request = await lock_request(conn, request_id)
    status = None if request is None else request["status"]
    review = await conn.fetchrow(
        "select candidates, shared, resolution from locator_reviews where request_id = $1 for update",
        request_id,
    )
    if status != RequestStatus.needs_review.value or review is None or review["resolution"] is not None:
        raise ReviewConflict("the request has no ambiguous match waiting for a decision")
    if choice is not None and not 0 <= choice < len(review["candidates"]):
        raise ReviewConflict("no such candidate")
    chosen = resolution_from(review["candidates"], review["shared"], choice)
    # Only what the search needs is kept: the people not chosen are not the subject, so their
    # identifiers leave the ledger with the decision.
    await conn.execute(
        """update locator_reviews set resolution = $2, resolved_by = $3, resolved_at = now(), candidates = $4
           where request_id = $1""",
        request_id,
        {
            "choice": choice,
            "seeds": {kind.value: value for kind, value in chosen.seeds.items()},
            "shared": sorted([kind.value, value] for kind, value in chosen.shared),
        },
        actor,
        [] if choice is None else [review["candidates"][choice]],
    )
    await audit(
        conn,
        request_id,
        actor,
        "locator.ambiguity_resolved",
        {"choice": "none" if choice is None else choice + 1, "candidates": len(review["candidates"])},
    )
    await change_status(
        conn, request_id, RequestStatus.locating, actor=actor, reason="ambiguous match resolved"
    )
    await record_wait(conn, request_id, (), retry_in=timedelta(0))
