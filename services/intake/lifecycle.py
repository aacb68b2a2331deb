"""Commands on a stored request: identity evidence, the email confirmation, extension, cancel.

Each runs inside the caller's transaction with the request locked, so the change, its history, its
audit event and its outbox event commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from schemas.envelope import Envelope
from schemas.events import DeadlineExtended, RequestCancelled
from schemas.registry import REQUESTS
from schemas.requests import (
    Channel,
    RequestStatus,
    RequestType,
    RequestView,
    Verification,
    VerificationMethod,
)
from services.intake.domain.assurance import (
    EMAIL_CONFIRMATION_PROVES,
    Assurance,
    assess,
    email_confirmed,
    sufficient,
)
from services.intake.domain.deadline import OSLO, due_date
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.domain.submission import BANKID_CHANNELS
from services.intake.errors import Conflict
from services.intake.events import event_common, status_event, verification_detail
from services.intake.requests import TERMINAL, locked, view
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import enqueue


async def record_verification(
    conn: asyncpg.Connection, request_id: uuid.UUID, verification: Verification, *, actor: str, now: datetime
) -> RequestView:
    """Record identity evidence; a request waiting for it resumes, its due date moved by the pause."""
    row = await locked(conn, request_id)
    channel = Channel(row["channel"])
    if verification.method is VerificationMethod.bankid and channel not in BANKID_CHANNELS:
        raise InvalidIdentifier(
            "method", "field_forbidden_for_channel", f"bankid cannot be declared on the {channel} channel"
        )
    if row["status"] != RequestStatus.awaiting_verification:
        raise Conflict(f"the request is {row['status']}, not awaiting verification")
    level = max(Assurance[row["assurance"]], assess(channel, verification))
    await audit(conn, request_id, actor, "verification_recorded", verification_detail(verification, level))
    return await _resume(conn, row, level, actor=actor, now=now)


async def _resume(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    level: Assurance,
    *,
    actor: str,
    now: datetime,
    scope: str | None = None,
) -> RequestView:
    """Store the new assurance; a request that now has enough resumes, its due date moved by the pause."""
    request_id = row["id"]
    request_type = RequestType(row["type"])
    if not sufficient(request_type, level):
        await conn.execute("update requests set assurance = $2 where id = $1", request_id, level.name)
        return view(await locked(conn, request_id))
    paused = max(0, (now.astimezone(OSLO).date() - row["paused_since"].astimezone(OSLO).date()).days)
    paused_days = row["paused_days"] + paused
    due = due_date(row["received_at"], extension_months=row["extension_months"], paused_days=paused_days)
    await conn.execute(
        """update requests set assurance = $2, paused_days = $3, paused_since = null, due_date = $4,
                  identity_scope = $5
           where id = $1""",
        request_id,
        level.name,
        paused_days,
        due,
        scope,
    )
    if paused:
        await audit(
            conn, request_id, actor, "clock_resumed", {"paused_days": paused, "due_date": due.isoformat()}
        )
    reason = f"assurance {level.name}" + (f" ({scope})" if scope else "")
    await change_status(conn, request_id, RequestStatus.verified, actor=actor, reason=reason)
    event = status_event(RequestStatus.verified, row["reference"], request_type, due, event_common(row))
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))


async def confirm_email(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str, now: datetime
) -> RequestView:
    """The subject followed the one-time link sent to the request's email (issue 11).

    The audit event says what that proves (control of the address, not who the person is) and the
    scope it gives; a request waiting for it resumes when that is enough for its type.
    """
    row = await locked(conn, request_id)
    if row["status"] != RequestStatus.awaiting_verification:
        raise Conflict(f"the request is {row['status']}, not awaiting verification")
    level, scope = email_confirmed(RequestType(row["type"]), Assurance[row["assurance"]])
    await audit(
        conn,
        request_id,
        actor,
        "verification_recorded",
        {
            "method": VerificationMethod.email_link.value,
            "proves": EMAIL_CONFIRMATION_PROVES,
            "assurance": level.name,
            "scope": scope.value if scope else "all records",
        },
    )
    return await _resume(conn, row, level, actor=actor, now=now, scope=scope.value if scope else None)


async def extend(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, months: int, reason: str, actor: str, now: datetime
) -> RequestView:
    """Extend by up to two further months in all (Art. 12(3)), decided inside the first month."""
    row = await locked(conn, request_id)
    if row["status"] in TERMINAL:
        raise Conflict(f"the request is already {row['status']}")
    first_month_ends = due_date(row["received_at"], paused_days=row["paused_days"])
    if now.astimezone(OSLO).date() > first_month_ends:
        raise Conflict(f"an extension must be decided before the first month ends ({first_month_ends})")
    total = row["extension_months"] + months
    if total > 2:
        raise Conflict(f"at most two further months in all; {row['extension_months']} already granted")
    due = due_date(row["received_at"], extension_months=total, paused_days=row["paused_days"])
    await conn.execute(
        """update requests set extension_months = $2, extension_reason = $3, extended = true, due_date = $4,
                  updated_at = now() where id = $1""",
        request_id,
        total,
        reason,
        due,
    )
    await audit(
        conn, request_id, actor, "deadline_extended", {"months": months, "reason": reason, "due_date": due}
    )
    event = Envelope[DeadlineExtended](
        event_type="request.deadline_extended",
        payload=DeadlineExtended(reference=row["reference"], due_date=due),
        **event_common(row),
    )
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))


async def cancel(conn: asyncpg.Connection, request_id: uuid.UUID, *, reason: str, actor: str) -> RequestView:
    row = await locked(conn, request_id)
    if row["status"] in TERMINAL:
        raise Conflict(f"the request is already {row['status']}")
    await change_status(conn, request_id, RequestStatus.cancelled, actor=actor, reason=reason)
    event = Envelope[RequestCancelled](
        event_type="request.cancelled",
        payload=RequestCancelled(reference=row["reference"], reason=reason),
        **event_common(row),
    )
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))
