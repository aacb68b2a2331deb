"""The fault suite's checker: pure functions over the history and a final read of the ledger.

Kept apart from the run (and from the database: `Ledger` is plain data) so that its own tests can
hand it small made-up histories and prove that it fails when something was lost, applied twice or
left out of the audit trail.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from schemas.requests import TERMINAL_STATUSES, RequestStatus
from services.runtime.lifecycle import ALLOWED
from tests.fault.history import History

TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)
# The extract a completed request of this type must have, exactly once.
EXTRACT_KIND = {"access": "extract_json", "portability": "portability_zip"}
ERASURE_TYPES = frozenset(
    {"erasure", "restriction", "marketing_opt_out", "newsletter_unsubscribe", "consent_withdrawal"}
)


@dataclass(frozen=True)
class Request:
    id: str
    type: str
    status: str
    key: str | None


@dataclass(frozen=True)
class StatusChange:
    status: str
    reason: str | None
    at: float


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    action: str
    from_status: str | None = None  # for status_changed
    to_status: str | None = None


@dataclass
class Ledger:
    """What the run left behind, read once at the end (see `tests/fault/ledger.py`)."""

    requests: dict[str, Request] = field(default_factory=dict)
    statuses: dict[str, list[StatusChange]] = field(default_factory=dict)
    audit: dict[str, list[AuditEvent]] = field(default_factory=dict)
    broken_chains: dict[str, str] = field(default_factory=dict)  # request id -> the chain's first problem
    artifacts: list[tuple[str, str, str]] = field(default_factory=list)  # request id, kind, media type
    erasure_plans: list[tuple[str, str, str]] = field(default_factory=list)  # plan id, request id, status
    recipient_notices: list[tuple[str, str, str]] = field(default_factory=list)  # request, recipient, change
    notified_events: list[tuple[str, str, str, str]] = field(
        default_factory=list
    )  # event id, request, recipient, change
    notices: list[tuple[str, str, str]] = field(default_factory=list)  # request, template, recipient
    mails: list[str] = field(default_factory=list)  # every message the SMTP server caught, as text


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str  # a request id or an idempotency key
    detail: str


def check(
    history: History, ledger: Ledger, *, person_decides: Callable[[str | None], bool] = lambda _: False
) -> list[Finding]:
    """Every finding of every check; empty when the run kept all its promises.

    `person_decides(reason)`: whether `needs_review` for that reason is a legitimate place to stop
    (a person must decide, whatever the faults); any other unfinished request is a finding.
    """
    return [
        *check_acknowledged(history, ledger),
        *check_terminal(ledger, person_decides),
        *check_status_histories(ledger),
        *check_audit_trails(ledger),
        *check_effects_once(ledger),
    ]


def check_acknowledged(history: History, ledger: Ledger) -> list[Finding]:
    """No acknowledged request lost; a key never names two requests; no request from nowhere."""
    findings: list[Finding] = []
    for key, ids in sorted(history.acknowledged().items()):
        if len(ids) > 1:
            findings.append(Finding("key_gave_two_requests", key, f"acknowledged as {sorted(ids)}"))
        for request_id in sorted(ids):
            if request_id not in ledger.requests:
                findings.append(Finding("lost", request_id, f"acknowledged for key {key}, not in the ledger"))
    by_key: dict[str, list[str]] = {}
    for request in ledger.requests.values():
        if request.key is not None:
            by_key.setdefault(request.key, []).append(request.id)
    for key, stored in sorted(by_key.items()):
        if len(stored) > 1:
            findings.append(Finding("key_gave_two_requests", key, f"ledger holds {sorted(stored)}"))
    keys = history.keys()
    for request in ledger.requests.values():
        if request.key not in keys:
            findings.append(Finding("phantom", request.id, "in the ledger, submitted by no client"))
    return findings


def check_terminal(ledger: Ledger, person_decides: Callable[[str | None], bool]) -> list[Finding]:
    findings: list[Finding] = []
    for request in ledger.requests.values():
        if request.status in TERMINAL:
            continue
        changes = ledger.statuses.get(request.id, [])
        reason = changes[-1].reason if changes else None
        if request.status == RequestStatus.needs_review.value and person_decides(reason):
            continue
        findings.append(
            Finding("not_terminal", request.id, f"{request.type} left in {request.status} ({reason})")
        )
    return findings


def check_status_histories(ledger: Ledger) -> list[Finding]:
    """From `received`, each change allowed by the status machine, in time order, ending where the
    request is; no status reached twice (a step applied twice)."""
    findings: list[Finding] = []
    for request in ledger.requests.values():
        changes = ledger.statuses.get(request.id, [])
        names = [c.status for c in changes]
        if not names or names[0] != RequestStatus.received.value:
            findings.append(Finding("history_start", request.id, f"history {names}"))
            continue
        for before, after in itertools.pairwise(changes):
            if RequestStatus(after.status) not in ALLOWED[RequestStatus(before.status)]:
                findings.append(Finding("illegal_step", request.id, f"{before.status} -> {after.status}"))
            if after.at < before.at:
                findings.append(
                    Finding("history_order", request.id, f"{after.status} before {before.status}")
                )
        twice = sorted(s for s, n in Counter(names).items() if n > 1)
        if twice:
            findings.append(Finding("step_twice", request.id, f"{twice} in {names}"))
        if names[-1] != request.status:
            findings.append(
                Finding("history_end", request.id, f"history ends {names[-1]}, request is {request.status}")
            )
    return findings


def check_audit_trails(ledger: Ledger) -> list[Finding]:
    """The audit trail verifies and tells the same story as the status history, in order."""
    findings: list[Finding] = []
    for request_id, problem in sorted(ledger.broken_chains.items()):
        findings.append(Finding("audit_chain", request_id, problem))
    for request in ledger.requests.values():
        events = sorted(ledger.audit.get(request.id, []), key=lambda e: e.seq)
        if [e.seq for e in events] != list(range(1, len(events) + 1)):
            findings.append(Finding("audit_gap", request.id, f"seqs {[e.seq for e in events]}"))
        if not events or events[0].action != "received":
            findings.append(Finding("audit_start", request.id, "the trail does not start with `received`"))
            continue
        steps = [(e.from_status, e.to_status) for e in events if e.action == "status_changed"]
        expected = [c.status for c in ledger.statuses.get(request.id, [])]
        walked = [RequestStatus.received.value]
        for source, target in steps:
            if source != walked[-1]:
                findings.append(
                    Finding("audit_order", request.id, f"{source} -> {target} after {walked[-1]}")
                )
            walked.append(target or "")
        if walked != expected:
            findings.append(Finding("audit_incomplete", request.id, f"audit {walked}, history {expected}"))
    return findings


def check_effects_once(ledger: Ledger) -> list[Finding]:
    """One extract per access request, one execution per erasure plan, one notice per recipient."""
    findings: list[Finding] = []
    artifacts = Counter(ledger.artifacts)
    for (request_id, kind, media), count in sorted(artifacts.items()):
        if count > 1:
            findings.append(Finding("artifact_twice", request_id, f"{count} x {kind} ({media})"))
    kinds = Counter((r, k) for r, k, _ in set(ledger.artifacts))
    for request in ledger.requests.values():
        extract = EXTRACT_KIND.get(request.type)
        if extract and request.status == "completed" and kinds[(request.id, extract)] == 0:
            findings.append(Finding("extract_missing", request.id, f"completed without {extract}"))
    plans = Counter(r for _, r, _ in ledger.erasure_plans)
    for request_id, count in sorted(plans.items()):
        if count > 1:
            findings.append(Finding("plan_twice", request_id, f"{count} erasure plans"))
    for request in ledger.requests.values():
        executions = sum(1 for e in ledger.audit.get(request.id, []) if e.action == "erasure_executed")
        if executions > 1:
            findings.append(Finding("execution_twice", request.id, f"{executions} erasure executions"))
        if request.type in ERASURE_TYPES and request.status == "completed" and executions == 0:
            findings.append(Finding("execution_missing", request.id, "completed without an execution"))
    for (request_id, recipient, change), count in sorted(Counter(ledger.recipient_notices).items()):
        if count > 1:
            findings.append(Finding("recipient_notice_twice", request_id, f"{count} x {recipient} {change}"))
    events = Counter((r, who, change) for _, r, who, change in set(ledger.notified_events))
    for (request_id, recipient, change), count in sorted(events.items()):
        if count > 1:
            findings.append(
                Finding("recipient_notified_twice", request_id, f"{count} events for {recipient} {change}")
            )
    for (request_id, template, _), count in sorted(Counter(ledger.notices).items()):
        if count > 1:
            findings.append(Finding("notice_twice", request_id, f"{count} x {template}"))
    for text, count in sorted(Counter(ledger.mails).items()):
        if count > 1:
            findings.append(
                Finding("mail_twice", "-", f"{count} identical messages ({len(text)} characters)")
            )
    return findings


def personal_data_leaks(values: Iterable[str], texts: dict[str, str]) -> list[Finding]:
    """Each text (a log, a metrics page, the dead-letter topic) holding an identifier of a test
    subject. A value of digits only must stand alone (not inside a longer number, e.g. a timestamp)."""
    patterns = [
        (v, re.compile(rf"(?<!\d){re.escape(v)}(?!\d)" if v.isdigit() else re.escape(v)))
        for v in set(values)
        if v
    ]
    findings = []
    for where, text in sorted(texts.items()):
        for value, pattern in patterns:
            if pattern.search(text):
                findings.append(Finding("personal_data", where, f"an identifier of {len(value)} characters"))
                break
    return findings
