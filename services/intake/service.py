"""Intake's flow, shared by HTTP and Kafka: validate, dedupe, store, decide assurance, announce.

Everything runs inside the caller's transaction, so the request, its identifiers, its history, its
audit events and its outbox events commit together or not at all. A new request costs three round
trips: take the subject's locks (and a reference number), look for the original of a retry or an
open duplicate, then one statement that writes every row.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
from services.runtime.ledger import audit, change_status, lock_request
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


@dataclass(frozen=True)
class Pending:
    """One submission waiting to be stored: what was sent, by whom, under which keys."""

    submission: RequestSubmission
    actor: str
    idempotency_key: str | None = None
    correlation_id: str | None = None

    def lock_names(self, ids: Identifiers) -> list[str]:
        names = [f"dsr:{self.submission.type}:{kind}:{value}" for kind, value in ids.pairs()]
        if self.idempotency_key is not None:
            names.append(f"dsr:idempotency:{self.actor}:{self.idempotency_key}")
        return names


@dataclass
class _Known:
    """A request a submission may repeat: stored earlier, or created earlier in the same batch."""

    id: uuid.UUID
    reference: str
    type: str
    status: str
    received_at: datetime
    scope: str | None
    key: str | None
    identifiers: Identifiers
    answer: RequestView  # what a retry of its submission is told (the original, for a duplicate)
    duplicate_of: str | None  # the reference of that original, for a duplicate
    stored: asyncpg.Record | None = None

    @property
    def open_original(self) -> bool:
        return self.duplicate_of is None and self.status not in _TERMINAL


@dataclass
class _NewRequest:
    columns: tuple[Any, ...]
    identifiers: list[tuple[str, str]]
    statuses: list[tuple[str, str | None]]
    audits: list[tuple[str, dict[str, Any]]]
    events: list[Envelope[Any]]
    actor: str


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
    [result] = await submit_many(
        conn,
        [Pending(submission, actor, idempotency_key, correlation_id)],
        now=now,
        accept_synthetic=accept_synthetic,
    )
    if isinstance(result, InvalidIdentifier):
        raise result
    return result


async def submit_many(
    conn: asyncpg.Connection,
    pending: Sequence[Pending],
    *,
    now: datetime | None = None,
    accept_synthetic: bool = False,
) -> list[Submitted | InvalidIdentifier]:
    """Store many submissions in the caller's transaction, in three round trips whatever their number.

    Answers come in order; an invalid submission gets its `InvalidIdentifier` and stores nothing.
    Each submission sees the ones before it in the batch exactly as if they had been sent one by one:
    a retry of an earlier key is a replay, a second request for the same subject a duplicate.
    """
    now = now or datetime.now(UTC)
    results: list[Submitted | InvalidIdentifier | None] = [None] * len(pending)
    checked: list[tuple[int, Pending, Identifiers]] = []
    for index, item in enumerate(pending):
        try:
            ids = check_submission(item.submission, now=now, accept_synthetic=accept_synthetic)
        except InvalidIdentifier as exc:
            results[index] = exc
        else:
            checked.append((index, item, ids))
    if checked:
        numbers = await _lock_subjects(conn, checked)
        known = _KnownRequests(await _earlier(conn, checked))
        created: list[_NewRequest] = []
        for (index, item, ids), number in zip(checked, numbers, strict=True):
            original, duplicate = known.match(item, ids)
            if original is not None:
                results[index] = await _replay(conn, original)
                continue
            new, result, entry = _new_request(item, ids, number, now, duplicate)
            created.append(new)
            known.add(entry)
            results[index] = result
        await _insert(conn, created)
    return [r for r in results if r is not None]


async def _lock_subjects(
    conn: asyncpg.Connection, checked: list[tuple[int, Pending, Identifiers]]
) -> list[int]:
    """Serialise submissions for one subject (dedupe) and one idempotency key; one reference number each.

    Every transaction takes its locks in one global (sorted) order, so two batches sharing identifiers
    cannot deadlock.
    """
    names = sorted({name for _, item, ids in checked for name in item.lock_names(ids)})
    numbers: list[int] = await conn.fetchval(
        """select array(select nextval('request_reference_seq') from generate_series(1, $2))
           from (select count(pg_advisory_xact_lock(hashtextextended(n, 0)))
                 from unnest($1::text[]) with ordinality as t(n, i)) as locked""",
        names,
        len(checked),
    )
    return numbers


async def _earlier(conn: asyncpg.Connection, checked: list[tuple[int, Pending, Identifiers]]) -> list[_Known]:
    """Stored requests the batch may repeat: the same idempotency key, or open ones sharing an identifier."""
    keyed = [(item.actor, item.idempotency_key) for _, item, _ in checked if item.idempotency_key is not None]
    pairs = sorted({pair for _, _, ids in checked for pair in ids.pairs()})
    types = sorted({item.submission.type.value for _, item, _ in checked})
    # One index lookup per key, per identifier and per candidate, whatever the planner believes about
    # the tables' sizes: the `offset 0` fences keep each lookup a nested loop, so a plan cached while
    # the tables were small (a fresh ledger, before autovacuum has analysed them) cannot become a
    # scan of every request as they grow (`tests/integration/test_ledger_plans.py`).
    rows = await conn.fetch(
        """with keys as (select * from unnest($1::text[], $2::text[]) as k(scope, key)),
                candidates as (
               select r.id from keys k cross join lateral (
                   select r.id from requests r
                   where r.idempotency_scope = k.scope and r.idempotency_key = k.key offset 0) r
               union
               select i.request_id from unnest($3::text[], $4::text[]) as t(kind, value) cross join lateral (
                   select i.request_id from request_identifiers i
                   where i.kind = t.kind and i.value = t.value offset 0) i)
           select r.*,
                  (select array_agg(array[i.kind, i.value]) from request_identifiers i where i.request_id = r.id)
                    as identifiers,
                  o.reference as original_reference
           from candidates c cross join lateral (select * from requests r where r.id = c.id offset 0) r
           left join lateral (select o.reference from requests o where o.id = r.duplicate_of offset 0) o on true
           where exists (select 1 from keys k where k.scope = r.idempotency_scope and k.key = r.idempotency_key)
              or (r.type = any($5::text[]) and r.duplicate_of is null and r.status <> all($6::text[]))
           order by r.received_at""",
        [scope for scope, _ in keyed],
        [key for _, key in keyed],
        [kind for kind, _ in pairs],
        [value for _, value in pairs],
        types,
        _TERMINAL,
    )
    return [
        _Known(
            id=row["id"],
            reference=row["reference"],
            type=row["type"],
            status=row["status"],
            received_at=row["received_at"],
            scope=row["idempotency_scope"],
            key=row["idempotency_key"],
            identifiers=Identifiers(**{kind: value for kind, value in (row["identifiers"] or [])}),
            answer=view(row),
            duplicate_of=row["original_reference"],
            stored=row,
        )
        for row in rows
    ]


class _KnownRequests:
    """The requests a batch may repeat, indexed so that matching a submission costs a few look-ups
    rather than a pass over everything stored or created before it in the batch."""

    def __init__(self, entries: Sequence[_Known]) -> None:
        self._by_key: dict[tuple[str, str], _Known] = {}
        self._by_identifier: dict[tuple[str, str, str], list[tuple[int, _Known]]] = {}
        self._count = 0
        for entry in entries:
            self.add(entry)

    def add(self, entry: _Known) -> None:
        if entry.scope is not None and entry.key is not None:
            self._by_key.setdefault((entry.scope, entry.key), entry)
        for kind, value in entry.identifiers.pairs():
            self._by_identifier.setdefault((entry.type, kind, value), []).append((self._count, entry))
        self._count += 1

    def match(self, item: Pending, ids: Identifiers) -> tuple[_Known | None, _Known | None]:
        """The request this submission retries (same idempotency key), or the earliest open one it
        duplicates. Two requests can only be the same subject's if they share an identifier."""
        if item.idempotency_key is not None:
            original = self._by_key.get((item.actor, item.idempotency_key))
            if original is not None:
                return original, None
        kind_of_request = item.submission.type.value
        sharing = {
            position: entry
            for kind, value in ids.pairs()
            for position, entry in self._by_identifier.get((kind_of_request, kind, value), ())
        }
        for _, entry in sorted(sharing.items(), key=lambda found: (found[1].received_at, found[0])):
            if entry.open_original and same_subject(ids, entry.identifiers):
                return None, entry
        return None, None


async def _replay(conn: asyncpg.Connection, original: _Known) -> Submitted:
    """A retry is answered as its first submission was (a linked duplicate with the request it joined)."""
    if original.stored is not None and original.duplicate_of is not None:
        answer, duplicate_of = await _answer(conn, original.stored)
        return Submitted(answer, created=False, duplicate_of=duplicate_of, replayed=True)
    return Submitted(original.answer, created=False, duplicate_of=original.duplicate_of, replayed=True)


def _new_request(
    item: Pending, ids: Identifiers, number: int, now: datetime, duplicate: _Known | None
) -> tuple[_NewRequest, Submitted, _Known]:
    """The rows of a new request (a cancelled, linked one for a duplicate) and its answer."""
    submission = item.submission
    request_id = uuid.uuid4()
    reference = f"DSR-{now.astimezone(OSLO).year}-{number:06d}"
    correlation_id = item.correlation_id or str(request_id)
    received_at = submission.received_at or now
    level = assess(submission.channel, submission.verification)
    if duplicate is not None:
        statuses: list[tuple[str, str | None]] = [
            ("received", None),
            ("cancelled", f"duplicate of {duplicate.reference}"),
        ]
    else:
        status, reason = admission_status(submission.type, level)
        statuses = [("received", None), (status, reason)]
    final = RequestStatus(statuses[-1][0])
    due = due_date(received_at)
    audits: list[tuple[str, dict[str, Any]]] = [
        ("received", {"type": submission.type.value, "channel": submission.channel.value})
    ]
    if submission.verification is not None:
        audits.append(("verification_recorded", _verification_detail(submission.verification, level)))
    if duplicate is not None:
        audits.append(("linked_as_duplicate", {"original": str(duplicate.id)}))
    audits.append(("status_changed", {"from": "received", "to": final.value, "reason": statuses[-1][1]}))
    events = (
        []
        if duplicate is not None
        else _admission_events(
            request_id, reference, submission, final, due, correlation_id, item.idempotency_key
        )
    )
    scope = item.actor if item.idempotency_key else None
    paused_since = now if final is RequestStatus.awaiting_verification else None
    columns = (
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
        scope,
        item.idempotency_key,
        level.name,
        paused_since,
        duplicate.id if duplicate is not None else None,
    )
    own = RequestView(
        id=str(request_id),
        reference=reference,
        type=submission.type,
        channel=submission.channel,
        status=final,
        received_at=received_at,
        due_date=due.isoformat(),
        paused_days=0,
        extended=False,
    )
    new = _NewRequest(columns, ids.pairs(), statuses, audits, events, item.actor)
    if duplicate is not None:
        result = Submitted(duplicate.answer, created=False, duplicate_of=duplicate.reference)
        entry_answer, entry_original = duplicate.answer, duplicate.reference
    else:
        result = Submitted(own, created=True)
        entry_answer, entry_original = own, None
    entry = _Known(
        id=request_id,
        reference=reference,
        type=submission.type.value,
        status=final.value,
        received_at=received_at,
        scope=scope,
        key=item.idempotency_key,
        identifiers=ids,
        answer=entry_answer,
        duplicate_of=entry_original,
    )
    return new, result, entry


async def _insert(conn: asyncpg.Connection, created: list[_NewRequest]) -> None:
    """Every row of every new request in one statement: requests, identifiers, history, audit, outbox."""
    if not created:
        return
    columns = [list(column) for column in zip(*(new.columns for new in created), strict=True)]
    ids = [(new.columns[0], kind, value) for new in created for kind, value in new.identifiers]
    history = [
        (new.columns[0], status, new.actor, reason) for new in created for status, reason in new.statuses
    ]
    audits = [(new.columns[0], new.actor, action, detail) for new in created for action, detail in new.audits]
    events = [event for new in created for event in new.events]
    stored = await conn.fetchval(
        """with req as (
             insert into requests (id, reference, type, channel, status, received_at, due_date, subject, details,
                                   language, correlation_id, idempotency_scope, idempotency_key, assurance,
                                   paused_since, duplicate_of)
             select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
                                  $7::date[], $8::jsonb[], $9::jsonb[], $10::text[], $11::text[], $12::text[],
                                  $13::text[], $14::text[], $15::timestamptz[], $16::uuid[])
             on conflict (idempotency_scope, idempotency_key) where idempotency_key is not null do nothing
             returning id),
           ids as (insert into request_identifiers (request_id, kind, value)
                   select t.r, t.k, t.v from unnest($17::uuid[], $18::text[], $19::text[]) as t(r, k, v)
                   join req on req.id = t.r),
           hist as (insert into request_status_history (request_id, status, actor, reason)
                    select t.r, t.s, t.a, t.x
                    from unnest($20::uuid[], $21::text[], $22::text[], $23::text[]) with ordinality as t(r, s, a, x, n)
                    join req on req.id = t.r order by t.n),
           aud as (insert into audit_events (request_id, actor, action, detail)
                   select t.r, t.a, t.c, t.d
                   from unnest($24::uuid[], $25::text[], $26::text[], $27::jsonb[]) with ordinality as t(r, a, c, d, n)
                   join req on req.id = t.r order by t.n),
           out as (insert into outbox (producer, topic, key, value, event_id, event_type, request_id)
                   select $28, $29, convert_to(t.r::text, 'UTF8'), t.v, t.e, t.et, t.r
                   from unnest($30::uuid[], $31::bytea[], $32::uuid[], $33::text[]) with ordinality as t(r, v, e, et, n)
                   join req on req.id = t.r order by t.n)
           select count(*) from req""",
        *columns,
        *(list(c) for c in zip(*ids, strict=True)) if ids else ([], [], []),
        *(list(c) for c in zip(*history, strict=True)),
        *(list(c) for c in zip(*audits, strict=True)),
        NAME,
        REQUESTS,
        [event.request_id for event in events],
        [encode(event) for event in events],
        [event.event_id for event in events],
        [event.event_type for event in events],
    )
    if stored != len(created):  # unreachable while the idempotency locks are held; kept as a guard
        raise Conflict("a request with this idempotency key is being created")


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
    row = await lock_request(conn, request_id)
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
