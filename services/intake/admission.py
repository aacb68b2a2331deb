"""Admitting a request, shared by HTTP and Kafka: validate, dedupe, store, decide assurance, announce.

A second request for the same subject joins the open one (`duplicate_of`) only when that one has
at least its assurance and the same contact details (email, postal address): otherwise it stands
on its own, so a stranger's unverified request can never absorb the person's own, nor send its
notices and download links to the stranger's address (issue 22). A stronger request with the same
contact details supersedes a weaker one still waiting for proof (that one is cancelled).

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
from schemas.events import RequestCancelled, RequestReceived
from schemas.registry import REQUESTS
from schemas.requests import RequestStatus, RequestSubmission, RequestView
from services.intake.domain.assurance import Assurance, admission_status, assess
from services.intake.domain.deadline import OSLO, due_date
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.domain.submission import Identifiers, check_submission, same_subject
from services.intake.errors import Conflict
from services.intake.events import NAME, event_common, status_event, verification_detail
from services.intake.requests import TERMINAL, as_answered, locked, view
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import encode, enqueue


@dataclass(frozen=True)
class Submitted:
    view: RequestView
    created: bool
    duplicate_of: str | None = None
    replayed: bool = False  # a retry with the same idempotency key: nothing new was created


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


Contacts = tuple[str | None, str | None]
"""Where a request's notices and download links go: its email (normalised) and postal address."""


def contacts(ids: Identifiers, details: dict[str, Any]) -> Contacts:
    address = details.get("postal_address")
    return ids.email, " ".join(str(address).split()).casefold() if address else None


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
    assurance: Assurance = Assurance.low
    contacts: Contacts = (None, None)
    correlation_id: str | None = None
    stored: asyncpg.Record | None = None

    @property
    def open_original(self) -> bool:
        return self.duplicate_of is None and self.status not in TERMINAL


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
        superseded: list[tuple[_Known, str]] = []
        for (index, item, ids), number in zip(checked, numbers, strict=True):
            original, duplicate, weaker = known.match(item, ids)
            if original is not None:
                results[index] = await _replay(conn, original)
                continue
            new, result, entry = _new_request(item, ids, number, now, duplicate)
            created.append(new)
            known.add(entry)
            results[index] = result
            for old in weaker:  # later submissions neither join it nor see it open
                old.status = RequestStatus.cancelled.value
                old.answer = old.answer.model_copy(update={"status": RequestStatus.cancelled})
                superseded.append((old, entry.reference))
        await _insert(conn, created)
        for old, by in superseded:
            await _supersede(conn, old, by)
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
           order by r.received_at, length(r.reference), r.reference""",
        [scope for scope, _ in keyed],
        [key for _, key in keyed],
        [kind for kind, _ in pairs],
        [value for _, value in pairs],
        types,
        TERMINAL,
    )
    # Received at the same moment (a batch, or a clock's tick), the one created first is the
    # earliest: the reference's number comes from one sequence, so (length, text) orders them.
    found = []
    for row in rows:
        identifiers = Identifiers(**{kind: value for kind, value in (row["identifiers"] or [])})
        found.append(
            _Known(
                id=row["id"],
                reference=row["reference"],
                type=row["type"],
                status=row["status"],
                received_at=row["received_at"],
                scope=row["idempotency_scope"],
                key=row["idempotency_key"],
                identifiers=identifiers,
                answer=view(row),
                duplicate_of=row["original_reference"],
                assurance=Assurance[row["assurance"]],
                contacts=contacts(identifiers, row["details"] or {}),
                correlation_id=row["correlation_id"],
                stored=row,
            )
        )
    return found


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

    def match(self, item: Pending, ids: Identifiers) -> tuple[_Known | None, _Known | None, list[_Known]]:
        """The request this submission retries (same idempotency key); else the earliest open one
        it duplicates, or the weaker ones it supersedes. Two requests can only be the same
        subject's if they share an identifier.

        A duplicate joins only an open request of at least its assurance with the same contact
        details; one with other contact details is never joined nor superseded (it may be a
        stranger's), and a weaker one with the same contacts is superseded while it still waits
        for proof."""
        if item.idempotency_key is not None:
            original = self._by_key.get((item.actor, item.idempotency_key))
            if original is not None:
                return original, None, []
        submission = item.submission
        level = assess(submission.channel, submission.verification)
        mine = contacts(ids, submission.details.model_dump(exclude_none=True))
        sharing = {
            position: entry
            for kind, value in ids.pairs()
            for position, entry in self._by_identifier.get((submission.type.value, kind, value), ())
        }
        weaker = []
        for _, entry in sorted(sharing.items(), key=lambda found: (found[1].received_at, found[0])):
            if not (entry.open_original and same_subject(ids, entry.identifiers)):
                continue
            if entry.contacts != mine:
                continue
            if entry.assurance >= level:
                return None, entry, []
            if entry.status == RequestStatus.awaiting_verification:
                weaker.append(entry)
        return None, None, weaker


async def _replay(conn: asyncpg.Connection, original: _Known) -> Submitted:
    """A retry is answered as its first submission was (a linked duplicate with the request it joined)."""
    if original.stored is not None and original.duplicate_of is not None:
        answer, duplicate_of = await as_answered(conn, original.stored)
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
        audits.append(("verification_recorded", verification_detail(submission.verification, level)))
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
        assurance=level,
        contacts=contacts(ids, submission.details.model_dump(exclude_none=True)),
        correlation_id=correlation_id,
    )
    return new, result, entry


async def _supersede(conn: asyncpg.Connection, old: _Known, by: str) -> None:
    """Cancel a weaker request still waiting for proof: a stronger one for the same subject, with
    the same contact details, replaces it (its notices go to the same addresses)."""
    row = await locked(conn, old.id)
    if row["status"] != RequestStatus.awaiting_verification:
        return
    reason = f"superseded by {by}"
    await change_status(conn, old.id, RequestStatus.cancelled, actor=NAME, reason=reason)
    await audit(conn, old.id, NAME, "superseded", {"by": by})
    event = Envelope[RequestCancelled](
        event_type="request.cancelled",
        payload=RequestCancelled(reference=row["reference"], reason=reason),
        **event_common(row),
    )
    await enqueue(conn, REQUESTS, event)


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
    return [received, status_event(status, reference, submission.type, due, common)]
