"""The topic registry and the event-type registry: what flows where, keyed how, shaped how."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from schemas import events

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class EventSpec:
    """One event type: its payload model and the majors of its schema this codebase reads."""

    event_type: str
    payload: type[BaseModel]
    topic: str
    version: str = "1.0"
    summary: str = ""

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    summary: str
    partitions: int = 4
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention_ms: int = 7 * DAY_MS
    event_types: tuple[str, ...] = field(default_factory=tuple)


INTAKE = "dsr.intake.v1"
INTAKE_OUTCOMES = "dsr.intake-outcomes.v1"
REQUESTS = "dsr.requests.v1"
LOCATED = "dsr.located.v1"
FULFILLED = "dsr.fulfilled.v1"
SLA = "dsr.sla.v1"
REFERRALS = "dsr.referrals.v1"
DEAD_LETTER = "dsr.dead-letter.v1"
NOTICES = "dsr.notices.v1"

EVENTS: dict[str, EventSpec] = {
    spec.event_type: spec
    for spec in (
        EventSpec(
            "request.submitted", events.RequestSubmitted, INTAKE, summary="A system submits a request."
        ),
        EventSpec("request.accepted", events.RequestAccepted, INTAKE_OUTCOMES, summary="Intake stored it."),
        EventSpec("request.rejected", events.RequestRejected, INTAKE_OUTCOMES, summary="Intake refused it."),
        EventSpec("request.received", events.RequestReceived, REQUESTS, summary="A new request is stored."),
        EventSpec(
            "request.verification_requested",
            events.VerificationRequested,
            REQUESTS,
            summary="The subject is asked for identity proof; the clock is paused.",
        ),
        EventSpec("request.verified", events.RequestVerified, REQUESTS, summary="Ready to locate."),
        EventSpec("request.cancelled", events.RequestCancelled, REQUESTS, summary="Withdrawn or duplicate."),
        EventSpec(
            "request.refused",
            events.RequestRefused,
            REQUESTS,
            summary="Refused before fulfilment, e.g. identity not confirmed in time.",
        ),
        EventSpec("request.deadline_extended", events.DeadlineExtended, REQUESTS, summary="Due date moved."),
        EventSpec("request.located", events.SubjectLocated, LOCATED, summary="The search finished."),
        EventSpec(
            "request.review_required",
            events.ReviewRequired,
            LOCATED,
            version="1.1",
            summary="A human must decide.",
        ),
        EventSpec("request.fulfilled", events.RequestFulfilled, FULFILLED, summary="Reached a final status."),
        EventSpec(
            "request.referred_to_controller",
            events.ReferredToController,
            REFERRALS,
            summary="Data held only as a processor: the request goes to the controller client.",
        ),
        EventSpec(
            "request.at_risk", events.DeadlineAtRisk, SLA, summary="Few days left before the due date."
        ),
        EventSpec("request.overdue", events.DeadlineMissed, SLA, summary="Still open after the due date."),
        EventSpec(
            "recipient.notified",
            events.RecipientNotified,
            NOTICES,
            summary="A recipient must be told of an erasure, rectification or restriction (Art. 19).",
        ),
        EventSpec(
            "subject.restriction_lifting",
            events.RestrictionLifting,
            NOTICES,
            summary="The subject is told before a restriction is lifted (Art. 18(3)).",
        ),
        EventSpec(
            "dead_letter.recorded",
            events.DeadLetterRecorded,
            DEAD_LETTER,
            summary="A message no consumer could use.",
        ),
    )
}

_TOPIC_LIST = (
    TopicSpec(
        INTAKE,
        key="idempotency key, else producer",
        summary="Requests submitted by the Plan & Pay portal and integrated systems.",
        retention_ms=14 * DAY_MS,
    ),
    TopicSpec(
        INTAKE_OUTCOMES, key="idempotency key", summary="Accepted or rejected, for every intake event."
    ),
    TopicSpec(REQUESTS, key="request_id", summary="Request lifecycle from intake: received, verified, ..."),
    TopicSpec(LOCATED, key="request_id", summary="Locator results: counts per system, or a review."),
    TopicSpec(FULFILLED, key="request_id", summary="Fulfilment results: the request's final status."),
    TopicSpec(
        REFERRALS,
        key="request_id",
        summary="Requests passed to the controller (a client) of data we hold only as its processor.",
        retention_ms=14 * DAY_MS,
    ),
    TopicSpec(SLA, key="request_id", summary="Deadline warnings from SLA tracking: at risk, overdue."),
    TopicSpec(
        NOTICES, key="request_id", summary="Notices to send: recipients (Art. 19) and subjects (Art. 18(3))."
    ),
    TopicSpec(
        DEAD_LETTER,
        key="original key",
        summary="Messages a consumer could not use, with a reason code.",
        partitions=1,
        retention_ms=30 * DAY_MS,
    ),
)

TOPICS: dict[str, TopicSpec] = {
    topic.name: TopicSpec(
        name=topic.name,
        key=topic.key,
        summary=topic.summary,
        partitions=topic.partitions,
        cleanup_policy=topic.cleanup_policy,
        retention_ms=topic.retention_ms,
        event_types=tuple(e.event_type for e in EVENTS.values() if e.topic == topic.name),
    )
    for topic in _TOPIC_LIST
}


def event_spec(event_type: str) -> EventSpec | None:
    return EVENTS.get(event_type)


def topic_spec(name: str) -> TopicSpec:
    return TOPICS[name]
