"""A request's whole story for the data protection authority, assembled from ledger rows. Pure.

The audit trail is the backbone: every event appears with its actor and details, and the sections
(verification, deadlines, decisions, notifications) are views chosen by an event's action and the
keys of its details. Events that later services add therefore show up without a change here, and
so do the rows of any table that refers to the request (`records`).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from schemas.requests import TERMINAL_STATUSES
from services.audit.chain import AuditReport
from services.intake.domain.deadline import OSLO, due_date

FORMAT = "dsr.audit-export/1"
_TERMINAL = {s.value for s in TERMINAL_STATUSES}

# How an audit event is recognised as part of a section: a word of its action starting with one of
# these (words are split at '.', '_' and '-': "consent_withdrawn" is not "sent"), or keys in its details.
_VERIFICATION_WORDS = ("verif", "identity")
_DEADLINE_WORDS = ("deadline", "clock", "pause", "extension", "extended", "overdue")
_NOTIFICATION_WORDS = ("notif", "notice", "letter", "mail", "email", "sms", "sent", "referred", "inform")
_DECISION_WORDS = ("decid", "decision", "review", "approv", "reject", "refus", "referred", "restrict", "plan")
_DECISION_KEYS = ("reason", "reasons", "reason_code", "decision", "grounds", "legal_basis")


Row = Mapping[str, Any]


@dataclass(frozen=True)
class StoryRows:
    """What the repository read for one request (see `services.audit.repository`)."""

    request: Row
    identifier_kinds: Sequence[str]
    history: Sequence[Row]
    audit: Sequence[Row]
    findings: Sequence[Row]
    artifacts: Sequence[Row]
    chain: AuditReport
    records: Mapping[str, Sequence[Row]] = field(default_factory=dict)


class AuditEntry(BaseModel):
    seq: int | None
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    hash: str | None = None
    prev_hash: str | None = None


class StatusEntry(BaseModel):
    status: str
    at: datetime
    actor: str
    reason: str | None


class RequestSummary(BaseModel):
    id: str
    reference: str
    type: str
    channel: str
    status: str
    language: str | None
    assurance: str | None
    identifiers_given: list[str] = Field(description="The kinds of identifier submitted (not their values)")
    duplicate_of: str | None = None


class Received(BaseModel):
    at: datetime
    channel: str
    recorded_by: str | None


class Verification(BaseModel):
    assurance: str | None
    verified_at: datetime | None
    events: list[AuditEntry]


class Deadline(BaseModel):
    received_at: datetime
    first_due_date: date = Field(description="One month from receipt, before pauses and extensions")
    due_date: date
    paused_days: int
    paused_since: datetime | None
    extension_months: int
    extension_reason: str | None
    answered_at: datetime | None = Field(description="When the request reached a terminal status")
    answered_on_time: bool | None
    events: list[AuditEntry]


class SystemFindings(BaseModel):
    system: str
    rows: int
    tables: dict[str, int]
    categories: list[str]


class Decision(BaseModel):
    at: datetime
    actor: str
    what: str
    reason: str | None
    detail: dict[str, Any]


class ArtifactEntry(BaseModel):
    id: str
    kind: str
    media_type: str
    filename: str
    size: int
    created_at: datetime
    purged_at: datetime | None
    links_issued: int
    downloads: int


class BrokenLinkEntry(BaseModel):
    seq: int
    event_id: int
    problem: str


class DayMismatchEntry(BaseModel):
    day: date
    anchored_events: int
    events_now: int


class ChainResult(BaseModel):
    intact: bool
    events: int
    broken: list[BrokenLinkEntry]
    anchored_days: int
    day_mismatches: list[DayMismatchEntry]


class AuditStory(BaseModel):
    """Everything that happened to one request, and whether its audit trail is intact."""

    format: str = FORMAT
    generated_at: datetime
    request: RequestSummary
    received: Received
    verification: Verification
    deadline: Deadline
    findings: list[SystemFindings]
    decisions: list[Decision]
    artifacts: list[ArtifactEntry]
    notifications: list[AuditEntry]
    status_history: list[StatusEntry]
    records: dict[str, list[dict[str, Any]]] = Field(
        description="Rows of other tables that refer to the request, by table"
    )
    audit_trail: list[AuditEntry]
    chain: ChainResult


def build_story(rows: StoryRows, *, generated_at: datetime) -> AuditStory:
    request = rows.request
    trail = [_entry(e) for e in rows.audit]
    received_event = next((e for e in trail if e.action == "received"), None)
    history = [
        StatusEntry(status=h["status"], at=h["at"], actor=h["actor"], reason=h["reason"])
        for h in rows.history
    ]
    return AuditStory(
        generated_at=generated_at,
        request=RequestSummary(
            id=str(request["id"]),
            reference=request["reference"],
            type=request["type"],
            channel=request["channel"],
            status=request["status"],
            language=request.get("language"),
            assurance=request.get("assurance"),
            identifiers_given=sorted(rows.identifier_kinds),
            duplicate_of=_text(request.get("duplicate_of")),
        ),
        received=Received(
            at=request["received_at"],
            channel=request["channel"],
            recorded_by=received_event.actor if received_event else None,
        ),
        verification=Verification(
            assurance=request.get("assurance"),
            verified_at=next((h.at for h in history if h.status == "verified"), None),
            events=[e for e in trail if _mentions(e.action, _VERIFICATION_WORDS)],
        ),
        deadline=_deadline(request, history, trail),
        findings=findings_by_system(rows.findings),
        decisions=_decisions(history, trail),
        artifacts=_artifacts(rows.artifacts, trail),
        notifications=[e for e in trail if _mentions(e.action, _NOTIFICATION_WORDS)],
        status_history=history,
        records={
            table: [plain_row(r) for r in table_rows] for table, table_rows in sorted(rows.records.items())
        },
        audit_trail=trail,
        chain=ChainResult(
            intact=rows.chain.intact,
            events=rows.chain.events,
            broken=[
                BrokenLinkEntry(seq=b.seq, event_id=b.event_id, problem=b.problem) for b in rows.chain.broken
            ],
            anchored_days=rows.chain.anchored_days,
            day_mismatches=[
                DayMismatchEntry(day=d.day, anchored_events=d.anchored_events, events_now=d.events_now)
                for d in rows.chain.days
            ],
        ),
    )


def findings_by_system(findings: Iterable[Row]) -> list[SystemFindings]:
    tables: dict[str, Counter[str]] = {}
    categories: dict[str, set[str]] = {}
    for finding in findings:
        system = finding["system"]
        tables.setdefault(system, Counter())[finding["table"]] += 1
        categories.setdefault(system, set()).update(finding["categories"] or ())
    return [
        SystemFindings(
            system=system,
            rows=sum(counts.values()),
            tables=dict(sorted(counts.items())),
            categories=sorted(categories[system]),
        )
        for system, counts in sorted(tables.items())
    ]


def _deadline(request: Row, history: list[StatusEntry], trail: list[AuditEntry]) -> Deadline:
    answered = next((h.at for h in history if h.status in _TERMINAL), None)
    due: date = request["due_date"]
    return Deadline(
        received_at=request["received_at"],
        first_due_date=due_date(request["received_at"]),
        due_date=due,
        paused_days=request.get("paused_days") or 0,
        paused_since=request.get("paused_since"),
        extension_months=request.get("extension_months") or 0,
        extension_reason=request.get("extension_reason"),
        answered_at=answered,
        answered_on_time=None if answered is None else answered.astimezone(OSLO).date() <= due,
        events=[e for e in trail if _mentions(e.action, _DEADLINE_WORDS)],
    )


def _decisions(history: list[StatusEntry], trail: list[AuditEntry]) -> list[Decision]:
    """Status changes with their reasons, and every other event that records a decision."""
    decisions = [
        Decision(at=h.at, actor=h.actor, what=f"status {h.status}", reason=h.reason, detail={})
        for h in history
        if h.reason
    ]
    for event in trail:
        if event.action == "status_changed":
            continue  # the status history above has them
        if _mentions(event.action, _DECISION_WORDS) or any(k in event.detail for k in _DECISION_KEYS):
            reason = next((event.detail[k] for k in _DECISION_KEYS if event.detail.get(k)), None)
            decisions.append(
                Decision(
                    at=event.at,
                    actor=event.actor,
                    what=event.action,
                    reason=None if reason is None else _as_text(reason),
                    detail=event.detail,
                )
            )
    return sorted(decisions, key=lambda d: d.at)


def _artifacts(artifacts: Iterable[Row], trail: list[AuditEntry]) -> list[ArtifactEntry]:
    issued = Counter(str(e.detail.get("artifact")) for e in trail if e.action == "download_link_issued")
    downloaded = Counter(str(e.detail.get("artifact")) for e in trail if e.action == "artifact_downloaded")
    return [
        ArtifactEntry(
            id=str(a["id"]),
            kind=a["kind"],
            media_type=a["media_type"],
            filename=a["filename"],
            size=a["size"],
            created_at=a["created_at"],
            purged_at=a.get("purged_at"),
            links_issued=issued[str(a["id"])],
            downloads=downloaded[str(a["id"])],
        )
        for a in artifacts
    ]


def _entry(event: Row) -> AuditEntry:
    detail = event["detail"]
    return AuditEntry(
        seq=event.get("seq"),
        at=event["at"],
        actor=event["actor"],
        action=event["action"],
        detail=plain_row(detail) if isinstance(detail, Mapping) else {"value": plain(detail)},
        hash=_hex(event.get("hash")),
        prev_hash=_hex(event.get("prev_hash")),
    )


def _mentions(action: str, words: Iterable[str]) -> bool:
    tokens = [t for t in re.split(r"[._\-\s]+", action.lower()) if t]
    return any(token.startswith(word) for token in tokens for word in words)


def _hex(value: object) -> str | None:
    return bytes(value).hex() if isinstance(value, bytes | bytearray | memoryview) else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(_as_text(v) for v in value)
    return str(value)


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a column value; binary content is summarised, never copied out."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def plain_row(row: Row) -> dict[str, Any]:
    return {str(k): plain(v) for k, v in row.items()}
