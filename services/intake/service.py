"""Intake's flow, shared by HTTP and Kafka: validate, dedupe, store, decide assurance, announce.

Everything runs inside the caller's transaction, so the request, its identifiers, its history, its
audit events and its outbox events commit together or not at all. A new request costs three round
trips: take the subject's locks (and a reference number), look for the original of a retry or an
open duplicate, then one statement that writes every row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import (
    DeadlineExtended,
    RequestCancelled,
    RequestReceived,
    RequestVerified,
    VerificationRequested,
)
from schemas.registry import REQUESTS
from schemas.requests import (
    TERMINAL_STATUSES,
    Channel,
    RequestStatus,
    RequestSubmission,
    RequestType,
    RequestView,
    Verification,
    VerificationMethod,
)
from services.intake.domain.assurance import (
    EMAIL_CONFIRMATION_PROVES,
    REQUIRED,
    Assurance,
    admission_status,
    assess,
    email_confirmed,
    sufficient,
)
from services.intake.domain.deadline import OSLO, due_date
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.domain.submission import BANKID_CHANNELS, Identifiers, check_submission, same_subject
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import encode, enqueue

NAME = "intake"
_TERMINAL = [s.value for s in TERMINAL_STATUSES]


class Conflict(Exception):
    """A state change the request's current state does not allow (HTTP 409)."""


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Submitted:
    view: RequestView
    created: bool
    duplicate_of: str | None = None
    replayed: bool = False  # a retry with the same idempotency key: nothing new was created


def view(row: asyncpg.Record) -> RequestView:
    return RequestView(
        id=str(row["id"]),
        reference=row["reference"],
        type=row["type"],
        channel=row["channel"],
        status=row["status"],
        received_at=row["received_at"],
        due_date=row["due_date"].isoformat(),
        paused_days=row["paused_days"],
        extended=row["extended"],
    )


async def find_by_key(conn: asyncpg.Connection, scope: str, key: str) -> RequestView | None:
    """The request a submission with this key was answered with (the original, for a duplicate)."""
    row = await conn.fetchrow(
        "select * from requests where idempotency_scope = $1 and idempotency_key = $2", scope, key
    )
    return (await _answer(conn, row))[0] if row else None


async def find_for_event(
    conn: asyncpg.Connection, producer: str, idempotency_key: str | None, correlation_id: str
) -> tuple[RequestView, str | None] | None:
    """The request a submission event created, and the reference of the original it joined."""
    if idempotency_key is not None:
        row = await conn.fetchrow(
            "select * from requests where idempotency_scope = $1 and idempotency_key = $2",
            producer,
            idempotency_key,
        )
    else:
        row = await conn.fetchrow(
            "select * from requests where correlation_id = $1 order by created_at limit 1", correlation_id
        )
    return None if row is None else await _answer(conn, row)


async def _answer(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[RequestView, str | None]:
    """A linked duplicate is answered with the open request it joined, as on its first submission."""
    if row["duplicate_of"] is None:
        return view(row), None
    original = await conn.fetchrow("select * from requests where id = $1", row["duplicate_of"])
    return view(original), original["reference"]


async def find(
    conn: asyncpg.Connection, request_id: uuid.UUID
) -> tuple[RequestView, list[dict[str, Any]]] | None:
    row = await conn.fetchrow("select * from requests where id = $1", request_id)
    if row is None:
        return None
    history = await conn.fetch(
        "select status, at, actor, reason from request_status_history where request_id = $1 order by id",
        request_id,
    )
    return view(row), [dict(h) for h in history]


async def submit(
    conn: asyncpg.Connection,
    submission: RequestSubmission,
    *,
    actor: str,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
    accept_synthetic: bool = False,
) -> Submitted:
    """Store a new request, or answer with the one it repeats; raises `InvalidIdentifier`."""
    now = now or datetime.now(UTC)
    identifiers = check_submission(submission, now=now, accept_synthetic=accept_synthetic)
    number = await _lock_subject(conn, submission.type, identifiers, actor, idempotency_key)
    original, duplicate = await _earlier(conn, submission.type, identifiers, actor, idempotency_key)
    if original is not None:
        answer, duplicate_of = await _answer(conn, original)
        return Submitted(answer, created=False, duplicate_of=duplicate_of, replayed=True)
    request_id = uuid.uuid4()
    reference = f"DSR-{now.astimezone(OSLO).year}-{number:06d}"
    correlation_id = correlation_id or str(request_id)
    received_at = submission.received_at or now
    level = assess(submission.channel, submission.verification)
    if duplicate is not None:
        statuses = [("received", None), ("cancelled", f"duplicate of {duplicate['reference']}")]
    else:
        status, reason = admission_status(submission.type, level)
        statuses = [("received", None), (status, reason)]
    row = await _insert(
        conn,
        request_id=request_id,
        reference=reference,
        submission=submission,
        identifiers=identifiers,
        received_at=received_at,
        now=now,
        level=level,
        statuses=statuses,
        actor=actor,
        idempotency_key=idempotency_key,
        correlation_id=correlation_id,
        duplicate_of=duplicate["id"] if duplicate is not None else None,
    )
    if row is None:  # unreachable while the idempotency lock is held; kept as a guard
        raise Conflict("a request with this idempotency key is being created")
    if duplicate is not None:
        return Submitted(view(duplicate), created=False, duplicate_of=duplicate["reference"])
    return Submitted(view(row), created=True)


async def _lock_subject(
    conn: asyncpg.Connection, request_type: RequestType, ids: Identifiers, actor: str, key: str | None
) -> int:
    """Serialise submissions for one subject (dedupe) and one idempotency key; returns a reference number.

    Locks are taken in sorted order so that two submissions sharing identifiers cannot deadlock.
    """
    names = sorted(f"dsr:{request_type}:{kind}:{value}" for kind, value in ids.pairs())
    if key is not None:
        names.insert(0, f"dsr:idempotency:{actor}:{key}")
    number: int = await conn.fetchval(
        """select nextval('request_reference_seq')
           from (select count(pg_advisory_xact_lock(hashtextextended(n, 0)))
                 from unnest($1::text[]) with ordinality as t(n, i)) as locked""",
        names,
    )
    return number


async def _earlier(
    conn: asyncpg.Connection, request_type: RequestType, ids: Identifiers, actor: str, key: str | None
) -> tuple[asyncpg.Record | None, asyncpg.Record | None]:
    """The request this submission retries (same idempotency key), or an open one it duplicates."""
    pairs = ids.pairs()
    # Two index lookups (the key, the identifiers) rather than one OR over the whole table.
    rows = await conn.fetch(
        """with candidates as (
               select id from requests where idempotency_scope = $4 and idempotency_key = $5
               union
               select i.request_id from request_identifiers i
               join unnest($2::text[], $3::text[]) as t(kind, value) on i.kind = t.kind and i.value = t.value)
           select r.*, (r.idempotency_scope is not distinct from $4 and r.idempotency_key is not distinct from $5)
                    as same_key,
                  (select array_agg(array[i.kind, i.value]) from request_identifiers i where i.request_id = r.id)
                    as identifiers
           from requests r join candidates c on c.id = r.id
           where (r.idempotency_scope = $4 and r.idempotency_key = $5)
              or (r.type = $1 and r.duplicate_of is null and r.status <> all($6::text[]))
           order by r.received_at""",
        request_type.value,
        [k for k, _ in pairs],
        [v for _, v in pairs],
        actor,
        key,
        _TERMINAL,
    )
    for row in rows:
        if row["same_key"]:
            return row, None
    for row in rows:
        theirs = Identifiers(**{kind: value for kind, value in (row["identifiers"] or [])})
        if same_subject(ids, theirs):
            return None, row
    return None, None


async def _insert(
    conn: asyncpg.Connection,
    *,
    request_id: uuid.UUID,
    reference: str,
    submission: RequestSubmission,
    identifiers: Identifiers,
    received_at: datetime,
    now: datetime,
    level: Assurance,
    statuses: list[tuple[str, str | None]],
    actor: str,
    idempotency_key: str | None,
    correlation_id: str,
    duplicate_of: uuid.UUID | None,
) -> asyncpg.Record | None:
    final = RequestStatus(statuses[-1][0])
    due = due_date(received_at)
    audits: list[tuple[str, dict[str, Any]]] = [
        ("received", {"type": submission.type.value, "channel": submission.channel.value})
    ]
    if submission.verification is not None:
        audits.append(("verification_recorded", _verification_detail(submission.verification, level)))
    if duplicate_of is not None:
        audits.append(("linked_as_duplicate", {"original": str(duplicate_of)}))
    audits.append(("status_changed", {"from": "received", "to": final.value, "reason": statuses[-1][1]}))
    events = (
        []
        if duplicate_of is not None
        else _admission_events(request_id, reference, submission, final, due, correlation_id, idempotency_key)
    )
    pairs = identifiers.pairs()
    return await conn.fetchrow(
        """with req as (
             insert into requests (id, reference, type, channel, status, received_at, due_date, subject, details,
                                   language, correlation_id, idempotency_scope, idempotency_key, assurance,
                                   paused_since, duplicate_of)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             on conflict (idempotency_scope, idempotency_key) where idempotency_key is not null do nothing
             returning *),
           ids as (insert into request_identifiers (request_id, kind, value)
                   select req.id, k, v from req, unnest($17::text[], $18::text[]) as t(k, v)),
           hist as (insert into request_status_history (request_id, status, actor, reason)
                    select req.id, s, $19, r from req, unnest($20::text[], $21::text[]) with ordinality as t(s, r, n)
                    order by n),
           aud as (insert into audit_events (request_id, actor, action, detail)
                   select req.id, $19, a, d from req, unnest($22::text[], $23::jsonb[]) with ordinality as t(a, d, n)
                   order by n),
           out as (insert into outbox (producer, topic, key, value, event_id, event_type, request_id)
                   select $24, $25, convert_to(req.id::text, 'UTF8'), v, e, et, req.id
                   from req, unnest($26::bytea[], $27::uuid[], $28::text[]) with ordinality as t(v, e, et, n)
                   order by n)
           select * from req""",
        request_id,
        reference,
        submission.type.value,
        submission.channel.value,
        final.value,
        received_at,
        due,
        submission.subject.model_dump(exclude_none=True),
        submission.details.model_dump(exclude_none=True, mode="json"),
        submission.details.language.value,
        correlation_id,
        actor if idempotency_key else None,
        idempotency_key,
        level.name,
        now if final is RequestStatus.awaiting_verification else None,
        duplicate_of,
        [k for k, _ in pairs],
        [v for _, v in pairs],
        actor,
        [s for s, _ in statuses],
        [r for _, r in statuses],
        [a for a, _ in audits],
        [d for _, d in audits],
        NAME,
        REQUESTS,
        [encode(e) for e in events],
        [e.event_id for e in events],
        [e.event_type for e in events],
    )


def _verification_detail(verification: Verification, level: Assurance) -> dict[str, Any]:
    return {
        "method": verification.method.value,
        "checks": [c.value for c in verification.checks],
        "verified_by": verification.verified_by,
        "assurance": level.name,
    }


def _admission_events(
    request_id: uuid.UUID,
    reference: str,
    submission: RequestSubmission,
    status: RequestStatus,
    due: date,
    correlation_id: str,
    idempotency_key: str | None,
) -> list[Envelope[Any]]:
    common: dict[str, Any] = {"producer": NAME, "request_id": request_id, "correlation_id": correlation_id}
    received: Envelope[Any] = Envelope[RequestReceived](
        event_type="request.received",
        idempotency_key=idempotency_key,
        payload=RequestReceived(
            reference=reference,
            type=submission.type,
            channel=submission.channel,
            status=RequestStatus.received,
            due_date=due,
        ),
        **common,
    )
    return [received, _status_event(status, reference, submission.type, due, common)]


def _status_event(
    status: RequestStatus, reference: str, request_type: RequestType, due: date, common: dict[str, Any]
) -> Envelope[Any]:
    if status is RequestStatus.verified:
        return Envelope[RequestVerified](
            event_type="request.verified",
            payload=RequestVerified(reference=reference, type=request_type, due_date=due),
            **common,
        )
    return Envelope[VerificationRequested](
        event_type="request.verification_requested",
        payload=VerificationRequested(
            reference=reference, due_date=due, required_assurance=REQUIRED[request_type].name
        ),
        **common,
    )


async def _locked(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow("select * from requests where id = $1 for update", request_id)
    if row is None:
        raise NotFound(str(request_id))
    return row


def _common(row: asyncpg.Record) -> dict[str, Any]:
    return {"producer": NAME, "request_id": row["id"], "correlation_id": row["correlation_id"]}


async def record_verification(
    conn: asyncpg.Connection, request_id: uuid.UUID, verification: Verification, *, actor: str, now: datetime
) -> RequestView:
    """Record identity evidence; a request waiting for it resumes, its due date moved by the pause."""
    row = await _locked(conn, request_id)
    channel = Channel(row["channel"])
    if verification.method is VerificationMethod.bankid and channel not in BANKID_CHANNELS:
        raise InvalidIdentifier(
            "method", "field_forbidden_for_channel", f"bankid cannot be declared on the {channel} channel"
        )
    if row["status"] != RequestStatus.awaiting_verification:
        raise Conflict(f"the request is {row['status']}, not awaiting verification")
    level = max(Assurance[row["assurance"]], assess(channel, verification))
    await audit(conn, request_id, actor, "verification_recorded", _verification_detail(verification, level))
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
        return view(await _locked(conn, request_id))
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
    event = _status_event(RequestStatus.verified, row["reference"], request_type, due, _common(row))
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))


async def confirm_email(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str, now: datetime
) -> RequestView:
    """The subject followed the one-time link sent to the request's email (issue 11).

    The audit event says what that proves (control of the address, not who the person is) and the
    scope it gives; a request waiting for it resumes when that is enough for its type.
    """
    row = await _locked(conn, request_id)
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
    row = await _locked(conn, request_id)
    if row["status"] in _TERMINAL:
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
        **_common(row),
    )
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))


async def cancel(conn: asyncpg.Connection, request_id: uuid.UUID, *, reason: str, actor: str) -> RequestView:
    row = await _locked(conn, request_id)
    if row["status"] in _TERMINAL:
        raise Conflict(f"the request is already {row['status']}")
    await change_status(conn, request_id, RequestStatus.cancelled, actor=actor, reason=reason)
    event = Envelope[RequestCancelled](
        event_type="request.cancelled",
        payload=RequestCancelled(reference=row["reference"], reason=reason),
        **_common(row),
    )
    await enqueue(conn, REQUESTS, event)
    return view(await conn.fetchrow("select * from requests where id = $1", request_id))
