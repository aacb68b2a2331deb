"""The story is assembled from rows alone: events other services add later appear in it by their
action and details, with no change to the story's code."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.audit.chain import AuditReport, BrokenLink
from services.audit.story import StoryRows, build_story

RECEIVED = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)
REQUEST = {
    "id": uuid.uuid4(),
    "reference": "DSR-2026-000042",
    "type": "erasure",
    "channel": "phone",
    "status": "completed",
    "language": "nb",
    "assurance": "substantial",
    "received_at": RECEIVED,
    "due_date": date(2026, 3, 2),
    "paused_days": 0,
    "paused_since": None,
    "extension_months": 0,
    "extension_reason": None,
    "duplicate_of": None,
}


def _event(seq: int, action: str, detail: dict[str, object], actor: str = "svc") -> dict[str, object]:
    return {
        "seq": seq,
        "at": RECEIVED + timedelta(minutes=seq),
        "actor": actor,
        "action": action,
        "detail": detail,
        "hash": bytes([seq]) * 32,
        "prev_hash": bytes([seq - 1]) * 32 if seq > 1 else None,
    }


def _rows(audit: list[dict[str, object]], **overrides: object) -> StoryRows:
    values: dict[str, object] = {
        "request": REQUEST,
        "identifier_kinds": ["phone", "national_id"],
        "history": [
            {"status": "received", "at": RECEIVED, "actor": "agent-1", "reason": None},
            {
                "status": "completed",
                "at": RECEIVED + timedelta(days=3),
                "actor": "erasure",
                "reason": "plan executed",
            },
        ],
        "audit": audit,
        "findings": [
            {"system": "crm", "table": "contacts", "categories": ["user.contact.email"]},
            {"system": "crm", "table": "contacts", "categories": ["user.identity.name"]},
            {"system": "marketing", "table": "subscriptions", "categories": []},
        ],
        "artifacts": [],
        "chain": AuditReport(events=len(audit), chains=1),
        **overrides,
    }
    return StoryRows(**values)  # type: ignore[arg-type]


def test_events_of_services_written_later_appear_in_their_sections() -> None:
    audit = [
        _event(1, "received", {"type": "erasure", "channel": "phone"}, actor="agent-1"),
        _event(
            2, "erasure.plan_approved", {"reviewer": "dpo-anne", "reason": "no open case"}, actor="dpo-anne"
        ),
        _event(3, "notifier.notice_sent", {"channel": "post", "recipient_kind": "subject"}),
        _event(4, "recipient_informed", {"recipients": 2, "legal_basis": "Art. 19"}),
        _event(5, "consent_withdrawn", {"purposes": ["newsletter"]}),
        _event(6, "deadline_at_risk", {"due_date": "2026-03-02"}, actor="tracker"),
    ]
    story = build_story(
        _rows(audit, records={"erasure_plans": [{"id": 7, "sealed": b"\x00" * 10, "decided_at": RECEIVED}]}),
        generated_at=RECEIVED,
    )
    assert [e.action for e in story.audit_trail] == [e["action"] for e in audit]
    decisions = {d.what: d.reason for d in story.decisions}
    assert decisions == {
        "status completed": "plan executed",
        "erasure.plan_approved": "no open case",
        "recipient_informed": "Art. 19",
    }
    assert [e.action for e in story.notifications] == ["notifier.notice_sent", "recipient_informed"]
    assert [e.action for e in story.deadline.events] == ["deadline_at_risk"]
    assert story.records == {
        "erasure_plans": [{"id": 7, "sealed": "<10 bytes>", "decided_at": RECEIVED.isoformat()}]
    }
    assert [(f.system, f.rows, f.tables) for f in story.findings] == [
        ("crm", 2, {"contacts": 2}),
        ("marketing", 1, {"subscriptions": 1}),
    ]
    assert story.findings[0].categories == ["user.contact.email", "user.identity.name"]
    assert story.request.identifiers_given == ["national_id", "phone"]
    assert story.received.recorded_by == "agent-1"
    # received 31 January: one month is 28 February 2026, a Saturday, so Monday 2 March
    assert story.deadline.first_due_date == date(2026, 3, 2)
    assert story.deadline.answered_on_time is True


def test_a_broken_chain_is_carried_into_the_story() -> None:
    report = AuditReport(events=2, chains=1, broken=[BrokenLink("DSR-2026-000042", None, 2, 99, "gap")])
    story = build_story(_rows([_event(1, "received", {})], chain=report), generated_at=RECEIVED)
    assert not story.chain.intact
    assert [(b.seq, b.event_id, b.problem) for b in story.chain.broken] == [(2, 99, "gap")]


_actions = st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=30)
_details = st.dictionaries(
    st.text(min_size=1, max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20)), max_size=4
)


@given(st.lists(st.tuples(_actions, _details), max_size=25))
def test_every_event_is_in_the_trail_once_in_order_and_sections_only_select_from_it(
    events: list[tuple[str, dict[str, object]]],
) -> None:
    audit = [_event(n, action, detail) for n, (action, detail) in enumerate(events, start=1)]
    story = build_story(_rows(audit), generated_at=RECEIVED)
    assert [(e.seq, e.action, e.detail) for e in story.audit_trail] == [
        (e["seq"], e["action"], e["detail"]) for e in audit
    ]
    trail = {(e.seq, e.action) for e in story.audit_trail}
    for section in (story.notifications, story.verification.events, story.deadline.events):
        assert {(e.seq, e.action) for e in section} <= trail
    assert [d.at for d in story.decisions] == sorted(d.at for d in story.decisions)
    story.model_dump_json()  # always serialisable
