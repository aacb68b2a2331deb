"""Events in, notices queued: one row per event, recipient and template (a unique key), so an event
delivered twice queues its notice once. Sending is `delivery`'s job, in its own transactions.

The queued context holds what the template needs except the links and secrets, which are issued
when the notice is sent (only their hashes are ever stored).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import DeadlineExtended, RequestFulfilled, RequestRefused, VerificationRequested
from schemas.requests import Channel, RequestStatus, RequestType
from services.erasure.outcome import notice_context
from services.intake.domain.assurance import REQUIRED, Assurance
from services.locator.scope import EMAIL_DIRECT
from services.notifier.notices import Medium, Template, completion_template, media, refusal_reason
from services.runtime.consumer import Unprocessable
from services.runtime.ledger import audit

NAME = "notifier"


async def _request(conn: asyncpg.Connection, request_id: uuid.UUID | None) -> asyncpg.Record:
    row = await conn.fetchrow(
        """select r.id, r.reference, r.type, r.channel, r.language, r.details, r.identity_scope,
                  r.extension_months, r.extension_reason,
                  (select value from request_identifiers i where i.request_id = r.id and i.kind = 'email')
                    as email
           from requests r where r.id = $1""",
        request_id,
    )
    if row is None:
        raise Unprocessable("unknown_request")
    return row


async def queue(
    conn: asyncpg.Connection,
    event: Envelope[Any],
    request: asyncpg.Record,
    template: Template,
    context: dict[str, Any],
    *,
    email_only: bool = False,
) -> int:
    """Queue `template` for every medium the request calls for; returns how many were new."""
    details = request["details"] if isinstance(request["details"], dict) else json.loads(request["details"])
    address = details.get("postal_address")
    targets = media(
        Channel(request["channel"]), details.get("reply_by"), email=request["email"], postal_address=address
    )
    if email_only and request["email"]:
        targets = [(Medium.email, request["email"])]
    if not targets:
        await audit(
            conn, request["id"], NAME, "notice_skipped", {"template": template.value, "reason": "no_contact"}
        )
        return 0
    new = 0
    for medium, recipient in targets:
        notice_id = await conn.fetchval(
            """insert into notices (event_id, request_id, recipient, medium, template, language, context)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (event_id, recipient, template) do nothing returning id""",
            event.event_id,
            request["id"],
            recipient,
            medium.value,
            template.value,
            request["language"],
            {"reference": request["reference"], "type": request["type"], **context},
        )
        if notice_id is not None:
            new += 1
            await audit(
                conn,
                request["id"],
                NAME,
                "notice_queued",
                {
                    "notice": notice_id,
                    "template": template.value,
                    "medium": medium.value,
                    "event": str(event.event_id),
                },
            )
    return new


async def on_received(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    request = await _request(conn, event.request_id)
    waits = await conn.fetchval(
        "select exists(select from request_status_history where request_id = $1 and status = 'awaiting_verification')",
        request["id"],
    )
    await queue(
        conn,
        event,
        request,
        Template.receipt,
        {"due_date": event.payload.due_date.isoformat(), "needs_verification": bool(waits)},
    )


async def on_verification_requested(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: VerificationRequested = event.payload
    request = await _request(conn, event.request_id)
    limited = REQUIRED[RequestType(request["type"])] > Assurance.low
    await queue(
        conn,
        event,
        request,
        Template.verification_request,
        {"due_date": payload.due_date.isoformat(), "limited_scope": limited, "link": bool(request["email"])},
        email_only=True,  # the link proves control of the address: it can only go there
    )


async def on_deadline_extended(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: DeadlineExtended = event.payload
    request = await _request(conn, event.request_id)
    await queue(
        conn,
        event,
        request,
        Template.extension,
        {
            "due_date": payload.due_date.isoformat(),
            "months": request["extension_months"],
            "reason": request["extension_reason"] or "",
        },
    )


async def on_refused(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: RequestRefused = event.payload
    request = await _request(conn, event.request_id)
    await queue(
        conn,
        event,
        request,
        Template.refusal,
        {"reason": refusal_reason(payload.reason_code, request["language"])},
    )


async def on_fulfilled(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: RequestFulfilled = event.payload
    if payload.status is RequestStatus.cancelled:
        return
    request = await _request(conn, event.request_id)
    template = completion_template(payload.type, payload.status)
    context: dict[str, Any] = {"limited_scope": request["identity_scope"] == EMAIL_DIRECT}
    if template is Template.refusal:
        reason = await conn.fetchval(
            "select reason from request_status_history where request_id = $1 and status = 'refused' order by id desc limit 1",
            request["id"],
        )
        context = {"reason": reason or refusal_reason("", request["language"])}
    elif template is Template.referral:
        detail = await conn.fetchval(
            """select detail from audit_events where request_id = $1 and action = 'referred_to_controllers'
               order by id desc limit 1""",
            request["id"],
        )
        names = (detail or {}).get("controllers") or []
        context = {"controllers": [{"name": name, "contact": None} for name in names]}
    elif template is Template.completion:  # what a consent withdrawal stopped, a rectification's proof
        context.update(
            await notice_context(conn, request["id"], RequestType(request["type"]), request["language"])
        )
    elif template is Template.erasure_done:
        # What was kept comes from the erasure's certificate (issue 7); until it lands: nothing listed.
        context = {"kept": []}
    await queue(conn, event, request, template, context)


REQUEST_HANDLERS = {
    "request.received": on_received,
    "request.verification_requested": on_verification_requested,
    "request.deadline_extended": on_deadline_extended,
    "request.refused": on_refused,
}
FULFILLED_HANDLERS = {"request.fulfilled": on_fulfilled}
