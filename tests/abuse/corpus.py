"""Malformed `request.submitted` messages, generated with hypothesis, each with the reason codes it may
be dead-lettered with. The personal values of `PEOPLE` are planted in them, so that a later grep of
logs, metrics and dead-letter reasons can tell whether any leaked."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.runtime.decoding import MAX_MESSAGE_BYTES
from tests.intake.helpers import person


@dataclass(frozen=True)
class Person:
    national_id: str
    email: str
    phone: str  # as a person writes it
    phone_digits: str  # the national number, as it may appear normalised

    @property
    def values(self) -> list[str]:
        """Every form of this person's identifiers that must never show in a log, metric or reason."""
        return [
            self.national_id,
            self.email,
            self.email.upper(),
            self.phone,
            f"+47{self.phone_digits}",
            self.phone_digits,
        ]


PEOPLE = [
    Person(person(n), f"abuse.subject{n}@eksempel.no", f"+47 9{n}5 7{n} 2{n}8", f"9{n}57{n}2{n}8")
    for n in range(1, 6)
]


@dataclass(frozen=True)
class Case:
    kind: str
    value: bytes
    reasons: frozenset[str]


def valid_envelope(who: Person, *, key: str | None = None) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "request.submitted",
        "schema_version": "1.0",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "plan-and-pay",
        "correlation_id": f"abuse-{uuid.uuid4().hex[:12]}",
        "idempotency_key": key or f"abuse-{uuid.uuid4().hex}",
        "payload": {
            "type": "access",
            "channel": "plan_and_pay",
            "subject": {"national_id": who.national_id, "email": who.email, "phone": who.phone},
            "details": {"notes": f"Ring meg på {who.phone} eller skriv til {who.email}"},
        },
    }


def _bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


_people = st.sampled_from(PEOPLE)
_not_a_string = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_ENVELOPE_FIELDS = [
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "producer",
    "correlation_id",
    "payload",
]
_REQUIRED_ENVELOPE = ["event_id", "event_type", "schema_version", "occurred_at", "producer", "payload"]
_INVALID_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82"]


@st.composite
def invalid_utf8(draw: st.DrawFn) -> Case:
    raw = _bytes(valid_envelope(draw(_people)))
    at = draw(st.integers(0, len(raw)))
    bad = draw(st.sampled_from(_INVALID_UTF8))
    return Case("invalid utf-8", raw[:at] + bad + raw[at:], frozenset({"malformed.encoding"}))


@st.composite
def wrong_type(draw: st.DrawFn) -> Case:
    data = valid_envelope(draw(_people))
    if draw(st.booleans()):
        field = draw(st.sampled_from(_ENVELOPE_FIELDS))
        wrong = draw(
            _not_a_string.filter(lambda v: not isinstance(v, dict)) if field == "payload" else _not_a_string
        )
        if field == "occurred_at" and isinstance(wrong, int) and not isinstance(wrong, bool):
            wrong = [wrong]  # an integer is a valid Unix time
        data[field] = wrong
        return Case(f"wrong type: {field}", _bytes(data), frozenset({"malformed.envelope"}))
    field = draw(st.sampled_from(["type", "channel", "subject", "national_id", "email", "details"]))
    target = data["payload"]["subject"] if field in ("national_id", "email") else data["payload"]
    target[field] = draw(_not_a_string.filter(lambda v: v not in ({}, [])))
    return Case(f"wrong type: payload.{field}", _bytes(data), frozenset({"invalid_payload"}))


@st.composite
def missing_field(draw: st.DrawFn) -> Case:
    data = valid_envelope(draw(_people))
    if draw(st.booleans()):
        for field in draw(st.lists(st.sampled_from(_REQUIRED_ENVELOPE), min_size=1, max_size=3, unique=True)):
            del data[field]
        return Case("missing envelope field", _bytes(data), frozenset({"malformed.envelope"}))
    for field in draw(st.lists(st.sampled_from(["type", "channel", "subject"]), min_size=1, unique=True)):
        del data["payload"][field]
    return Case("missing payload field", _bytes(data), frozenset({"invalid_payload"}))


@st.composite
def unknown_version(draw: st.DrawFn) -> Case:
    data = valid_envelope(draw(_people))
    major = draw(st.integers(0, 99).filter(lambda m: m != 1))
    data["schema_version"] = f"{major}.{draw(st.integers(0, 99))}"
    return Case("unknown major version", _bytes(data), frozenset({"unsupported_schema_version"}))


@st.composite
def unknown_event_type(draw: st.DrawFn) -> Case:
    data = valid_envelope(draw(_people))
    data["event_type"] = draw(
        st.sampled_from(["request.accepted", "request.verified", "request.submitted_v2", "x.y"])
    )
    return Case("unknown event type", _bytes(data), frozenset({"unknown_event_type"}))


@st.composite
def not_json(draw: st.DrawFn) -> Case:
    who = draw(_people)
    text = draw(
        st.sampled_from(
            [f"national_id={who.national_id}", f"<subject>{who.email}</subject>", "{", "{'a': 1}"]
        )
    )
    return Case("not json", text.encode(), frozenset({"malformed.json"}))


@st.composite
def over_limit(draw: st.DrawFn) -> Case:
    who = draw(_people)
    data = valid_envelope(who)
    data["payload"]["details"]["notes"] = who.national_id * (
        MAX_MESSAGE_BYTES // 11 + draw(st.integers(1, 500))
    )
    return Case("over 1 MiB", _bytes(data), frozenset({"malformed.too_large"}))


@st.composite
def huge_field(draw: st.DrawFn) -> Case:
    """Under the size limit, but a field far longer than the schema allows."""
    who = draw(_people)
    data = valid_envelope(who)
    data["payload"]["details"]["notes"] = f"{who.email} " * draw(st.integers(2_000, 20_000))
    return Case("huge field", _bytes(data), frozenset({"invalid_payload"}))


# (strategy, share of the corpus): the large kinds are few, they cost the broker a megabyte each
KINDS: list[tuple[st.SearchStrategy[Case], float]] = [
    (invalid_utf8(), 1.0),
    (wrong_type(), 2.0),
    (missing_field(), 1.0),
    (unknown_version(), 0.5),
    (unknown_event_type(), 0.5),
    (not_json(), 0.5),
    (over_limit(), 0.1),
    (huge_field(), 0.1),
]


def corpus(count: int) -> list[Case]:
    """About `count` distinct malformed messages, the same on every run (derandomised), every kind in it."""
    found: dict[bytes, Case] = {}
    total = sum(share for _, share in KINDS)
    for strategy, share in KINDS:

        @settings(
            max_examples=max(1, round(count * share / total)),
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            deadline=None,
        )
        @given(strategy)
        def collect(case: Case) -> None:
            found.setdefault(case.value, case)

        collect()
    return list(found.values())
