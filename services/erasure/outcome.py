"""What the subject's completion notice says of a right's outcome, read from the ledger.

The notifier calls `notice_context` for the completion notice: for a consent withdrawal, per
table the purposes that stopped and those that go on with their bases (from the plan's end,
`consent_purposes_stopped`); for a rectification, the proof's summary (rows, tables and systems
read back, none holding an old value) and every place an old value is kept as it was written,
with the reason. Catalogue words and counts only: no personal data reaches a notice from here.

`stopped_purposes` is for a later extract (`services/fulfilment/access.py`): per record key, the
purposes a withdrawn consent stopped and those that continue, since when and on which request.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import asyncpg

from schemas.requests import RequestType
from services.catalogue.text import language_of, stored_text


async def notice_context(
    conn: asyncpg.Connection, request_id: uuid.UUID, request_type: RequestType, language: str
) -> dict[str, Any]:
    """Extra context for the completion notice, catalogue texts in the request's `language` (empty
    when the right has nothing to add)."""
    language = language_of(language)
    if request_type is RequestType.consent_withdrawal:
        detail = await conn.fetchval(
            """select detail from audit_events where request_id = $1 and action = 'consent_purposes_stopped'
               order by id desc limit 1""",
            request_id,
        )
        return {"purposes": (detail or {}).get("tables", [])}
    if request_type is RequestType.rectification:
        proof = await conn.fetchval(
            "select proof from rectification_proofs where request_id = $1 and verified", request_id
        )
        return {"rectification": None if proof is None else proof_summary(proof, language)}
    return {}


def proof_summary(proof: dict[str, Any], language: str) -> dict[str, Any]:
    """The proof as the subject is told it: counts, and where an old value stays and why (the
    catalogue's words in `language`)."""
    rows = {(c["system"], c["table"], str(c["key"])) for c in proof["corrected"]}
    return {
        "corrected": len(proof["corrected"]),
        "records": len(rows),
        "rows_checked": proof["rows_checked"],
        "tables_checked": len(proof["tables"]),
        "systems_checked": len(proof["systems"]),
        "old_value_left": len(proof["old_value_left"]),
        "kept_as_is": [
            {
                "system_title": stored_text(k["system_title"]).in_(language),
                "what": stored_text(k["description"]).in_(language).rstrip("."),
                "reason": k["reason"],
                "rows": k["rows"],
            }
            for k in proof["kept_as_is"]
        ],
    }


async def stopped_purposes(
    conn: asyncpg.Connection, rows: Iterable[tuple[str, str, dict[str, str]]]
) -> dict[tuple[str, str, str], dict[str, Any]]:
    """For the records (system, table, primary key) of a later extract: the purposes a withdrawn
    consent stopped and those that continue, since when and the reference of the request that
    stopped them; records without are left out. Keyed by (system, table, the key as JSON text).
    A row two withdrawals reached says the latest."""
    wanted = list(rows)
    if not wanted:
        return {}
    found = await conn.fetch(
        """select s.system, s."table", s.record_key::text as key, s.purposes, s.stopped_at,
                  r.reference
           from stopped_purposes s
           join requests r on r.id = s.request_id
           join unnest($1::text[], $2::text[], $3::jsonb[]) as w(system, "table", record_key)
             on s.system = w.system and s."table" = w."table" and s.record_key = w.record_key
           order by s.stopped_at, s.id""",
        [w[0] for w in wanted],
        [w[1] for w in wanted],
        [w[2] for w in wanted],
    )
    return {
        (r["system"], r["table"], r["key"]): {
            **r["purposes"],
            "stopped_at": r["stopped_at"].isoformat(),
            "request_reference": r["reference"],
        }
        for r in found
    }
