"""Decoding Kafka message bytes: a typed envelope, or one reason code that quotes nothing."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import EVENTS, TOPICS
from services.runtime.decoding import MAX_MESSAGE_BYTES, Rejected, decode
from tests.unit.strategies import national_ids, personal_numbers

REASON = re.compile(r"^[a-z][a-z0-9_.]*$")
NATIONAL_ID = "01010050053"

SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {
    "request.submitted": {
        "type": "access",
        "channel": "web_form",
        "subject": {"national_id": NATIONAL_ID, "email": "ole@example.no", "name": "Ole Nordmann"},
        "received_at": "2026-03-01T10:00:00+01:00",
        "verification": {"method": "phone_checks", "checks": ["national_id"], "verified_by": "agent-7"},
        "details": {"language": "en", "notes": "called twice"},
        "requester": {"kind": "representative", "name": "Kari", "power_of_attorney": True},
    },
    "request.accepted": {
        "request_id": str(uuid.UUID(int=1)),
        "reference": "DSR-2026-000123",
        "status": "received",
        "due_date": "2026-04-01",
        "duplicate_of": "DSR-2026-000100",
    },
    "request.rejected": {"reason_code": "invalid_payload", "field_path": "subject"},
    "request.received": {
        "reference": "DSR-2026-000123",
        "type": "erasure",
        "channel": "plan_and_pay",
        "status": "received",
        "due_date": "2026-04-01",
    },
    "request.verification_requested": {
        "reference": "DSR-2026-000123",
        "due_date": "2026-04-01",
        "required_assurance": "substantial",
    },
    "request.verified": {"reference": "DSR-2026-000123", "type": "portability", "due_date": "2026-04-01"},
    "request.cancelled": {"reference": "DSR-2026-000123", "reason": "duplicate"},
    "request.refused": {"reference": "DSR-2026-000123", "reason_code": "identity_not_confirmed"},
    "request.deadline_extended": {"reference": "DSR-2026-000123", "due_date": "2026-06-01"},
    "request.located": {
        "type": "access",
        "finding_count": 3,
        "systems_searched": 2,
        "findings_by_system": {"billing": 2, "crm": 1},
    },
    "request.review_required": {"stage": "locate", "reason_code": "ambiguous.match"},
    "request.fulfilled": {"type": "erasure", "status": "completed", "artifact_count": 1},
    "request.referred_to_controller": {
        "reference": "DSR-2026-000123",
        "type": "access",
        "system": "invoicing",
        "controller": "Nordlys Energi AS",
        "controller_org_number": None,
        "record_count": 1,
    },
    "request.at_risk": {"reference": "DSR-2026-000123", "due_date": "2026-12-24", "days_left": 5},
    "request.overdue": {"reference": "DSR-2026-000123", "due_date": "2026-12-24", "days_overdue": 2},
    "recipient.notified": {
        "reference": "DSR-2026-000123",
        "recipient": "it_support",
        "change": "restricted",
        "tables": ["crm.contacts"],
        "record_count": 1,
    },
    "subject.restriction_lifting": {
        "reference": "DSR-2026-000123",
        "record_count": 2,
        "lifted_by": "agent-kari",
    },
    "dead_letter.recorded": {
        "reason_code": "malformed.json",
        "consumer": "locator",
        "source_topic": "dsr.requests.v1",
        "source_partition": 2,
        "source_offset": 41,
        "original_key_b64": None,
        "original_value_b64": "e30=",
    },
}


def envelope(event_type: str, /, **overrides: Any) -> dict[str, Any]:
    """A valid raw envelope (as JSON data) for `event_type`."""
    data: dict[str, Any] = {
        "event_id": str(uuid.UUID(int=42)),
        "event_type": event_type,
        "schema_version": "1.0",
        "occurred_at": "2026-03-01T09:00:00Z",
        "request_id": str(uuid.UUID(int=7)),
        "producer": "unit-test",
        "correlation_id": "corr-1",
        "idempotency_key": None,
        "payload": dict(SAMPLE_PAYLOADS[event_type]),
    }
    data.update(overrides)
    return data


def encode(data: Any) -> bytes:
    return json.dumps(data).encode()


def decode_data(data: Any, event_type: str = "request.cancelled") -> Envelope[Any] | Rejected:
    return decode(encode(data), EVENTS[event_type].topic)


def rejected(result: Envelope[Any] | Rejected) -> Rejected:
    assert isinstance(result, Rejected), result
    assert REASON.match(result.reason_code), result
    return result


# --- the happy path --------------------------------------------------------------------------------


def test_every_registered_event_type_has_a_sample_payload() -> None:
    assert set(SAMPLE_PAYLOADS) == set(EVENTS)


def test_every_event_type_is_listed_on_exactly_its_own_topic() -> None:
    for event_type, spec in EVENTS.items():
        assert [t for t in TOPICS.values() if event_type in t.event_types] == [TOPICS[spec.topic]]


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_a_valid_envelope_round_trips_through_decode(event_type: str) -> None:
    spec = EVENTS[event_type]
    payload: BaseModel = spec.payload.model_validate(SAMPLE_PAYLOADS[event_type])
    sent = Envelope[spec.payload](  # type: ignore[name-defined]
        event_type=event_type,
        producer="unit-test",
        request_id=uuid.uuid4(),
        idempotency_key="retry-key-1",
        payload=payload,
    )
    got = decode(sent.model_dump_json().encode(), spec.topic)
    assert isinstance(got, Envelope)
    assert type(got.payload) is spec.payload
    assert got.payload == payload
    assert got.model_dump(mode="json") == sent.model_dump(mode="json")


@pytest.mark.parametrize("version", ["1.0", "1.7", "1.9999"])
def test_any_minor_version_of_a_known_major_is_accepted(version: str) -> None:
    got = decode_data(envelope("request.cancelled", schema_version=version))
    assert isinstance(got, Envelope)
    assert got.schema_version == version


def test_an_occurred_at_with_an_offset_is_normalised_to_utc() -> None:
    got = decode_data(envelope("request.cancelled", occurred_at="2026-03-01T10:00:00+01:00"))
    assert isinstance(got, Envelope)
    assert got.occurred_at.isoformat() == "2026-03-01T09:00:00+00:00"


def test_a_message_of_exactly_the_size_limit_is_accepted() -> None:
    body = encode(envelope("request.cancelled"))
    got = decode(body + b" " * (MAX_MESSAGE_BYTES - len(body)), EVENTS["request.cancelled"].topic)
    assert isinstance(got, Envelope)


# --- each way a message can be unusable ------------------------------------------------------------


@pytest.mark.parametrize("value", [None, b""])
def test_an_empty_message_is_malformed_empty(value: bytes | None) -> None:
    assert rejected(decode(value, "dsr.requests.v1")) == Rejected("malformed.empty")


def test_a_message_over_one_mebibyte_is_malformed_too_large() -> None:
    body = encode(envelope("request.cancelled"))
    value = body + b" " * (MAX_MESSAGE_BYTES + 1 - len(body))
    assert rejected(decode(value, "dsr.requests.v1")) == Rejected("malformed.too_large")


@pytest.mark.parametrize("value", [b"\xff\xfe{}", b'{"producer": "\xc3"}', b"\xed\xa0\x80", b"\x80"])
def test_invalid_utf8_is_malformed_encoding(value: bytes) -> None:
    assert rejected(decode(value, "dsr.requests.v1")) == Rejected("malformed.encoding")


@pytest.mark.parametrize(
    "value", [b"{", b"{not json}", b'{"a": 1,}', b"'single'", b"{} {}", b" ", b"[" * 100_000]
)
def test_text_that_is_not_json_is_malformed_json(value: bytes) -> None:
    assert rejected(decode(value, "dsr.requests.v1")) == Rejected("malformed.json")


@pytest.mark.parametrize("value", [b"[]", b"[{}]", b"42", b"1.5", b'"text"', b"null", b"true"])
def test_json_that_is_not_an_object_is_malformed_envelope(value: bytes) -> None:
    assert rejected(decode(value, "dsr.requests.v1")) == Rejected("malformed.envelope")


@pytest.mark.parametrize(
    "field", ["event_id", "event_type", "schema_version", "occurred_at", "producer", "payload"]
)
def test_a_missing_envelope_field_is_malformed_envelope_naming_the_field(field: str) -> None:
    data = envelope("request.cancelled")
    del data[field]
    assert rejected(decode_data(data)) == Rejected("malformed.envelope", field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", 123),
        ("event_id", "not-a-uuid"),
        ("event_type", 7),
        ("event_type", "Request.Cancelled"),
        ("event_type", ""),
        ("schema_version", 1.0),
        ("schema_version", "1"),
        ("schema_version", "01.0"),
        ("schema_version", "1.0.0"),
        ("occurred_at", "2026-03-01T09:00:00"),
        ("occurred_at", "yesterday"),
        ("request_id", "DSR-2026-000123"),
        ("producer", ""),
        ("producer", 5),
        ("producer", "p" * 101),
        ("correlation_id", ""),
        ("idempotency_key", ""),
        ("payload", []),
        ("payload", "payload"),
        ("payload", None),
    ],
)
def test_an_envelope_field_of_the_wrong_type_or_shape_is_malformed_envelope(field: str, value: Any) -> None:
    got = rejected(decode_data(envelope("request.cancelled", **{field: value})))
    assert got.reason_code == "malformed.envelope"
    assert got.field_path == field


def test_an_unknown_envelope_field_is_malformed_envelope() -> None:
    got = rejected(decode_data(envelope("request.cancelled", partition_hint=3)))
    assert got.reason_code == "malformed.envelope"


@pytest.mark.parametrize("event_type", ["request.exploded", "dead_letter.recorded_v2", "x.y"])
def test_an_unregistered_event_type_is_unknown_event_type(event_type: str) -> None:
    data = envelope("request.cancelled", event_type=event_type)
    assert rejected(decode_data(data)) == Rejected("unknown_event_type", "event_type")


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_an_event_type_on_a_topic_it_does_not_belong_to_is_unknown_event_type(event_type: str) -> None:
    data = encode(envelope(event_type))
    for topic in TOPICS:
        got = decode(data, topic)
        if topic == EVENTS[event_type].topic:
            assert isinstance(got, Envelope)
        else:
            assert rejected(got) == Rejected("unknown_event_type", "event_type")


def test_a_physical_topic_name_with_a_prefix_is_not_the_logical_topic() -> None:
    data = encode(envelope("request.cancelled"))
    assert rejected(decode(data, "t1234.dsr.requests.v1")).reason_code == "unknown_event_type"


@pytest.mark.parametrize("version", ["2.0", "0.9", "10.1"])
def test_another_major_schema_version_is_unsupported(version: str) -> None:
    data = envelope("request.cancelled", schema_version=version)
    assert rejected(decode_data(data)) == Rejected("unsupported_schema_version", "schema_version")


@pytest.mark.parametrize(
    ("event_type", "payload_changes", "path"),
    [
        ("request.cancelled", {"reference": None}, "payload.reference"),
        ("request.cancelled", {"reason": "x" * 201}, "payload.reason"),
        ("request.located", {"finding_count": -1}, "payload.finding_count"),
        ("request.located", {"type": "delete_everything"}, "payload.type"),
        ("request.fulfilled", {"status": "done"}, "payload.status"),
        ("request.accepted", {"due_date": "31.12.2026"}, "payload.due_date"),
        ("request.rejected", {"reason_code": "Bad Code"}, "payload.reason_code"),
        ("request.submitted", {"subject": {"name": "Ole Nordmann"}}, "payload.subject"),
        ("request.submitted", {"received_at": "2026-03-01T10:00:00"}, "payload.received_at"),
        (
            "request.submitted",
            {"verification": {"method": "telepathy", "verified_by": "x"}},
            "payload.verification.method",
        ),
        ("dead_letter.recorded", {"source_offset": "last"}, "payload.source_offset"),
    ],
)
def test_a_payload_that_does_not_fit_its_schema_is_invalid_payload_with_its_path(
    event_type: str, payload_changes: dict[str, Any], path: str
) -> None:
    data = envelope(event_type)
    data["payload"] = {**data["payload"], **payload_changes}
    assert rejected(decode_data(data, event_type)) == Rejected("invalid_payload", path)


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_an_empty_payload_is_invalid_for_every_event_type(event_type: str) -> None:
    got = rejected(decode_data(envelope(event_type, payload={}), event_type))
    assert got.reason_code == "invalid_payload"
    assert got.field_path is not None and got.field_path.startswith("payload.")


def test_an_integer_too_long_to_convert_is_malformed_json_not_a_crash() -> None:
    value = b'{"event_id": ' + b"1" * 5000 + b"}"
    assert rejected(decode(value, "dsr.requests.v1")).reason_code == "malformed.json"


# --- properties ------------------------------------------------------------------------------------

TOPIC_NAMES = st.sampled_from([*TOPICS, "unknown.topic"])

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=15,
)


def assert_well_formed(result: object) -> None:
    assert isinstance(result, Envelope | Rejected)
    if isinstance(result, Rejected):
        assert REASON.match(result.reason_code)
        assert result.field_path is None or isinstance(result.field_path, str)


@given(st.binary(max_size=2048), TOPIC_NAMES)
def test_arbitrary_bytes_never_raise_and_give_an_envelope_or_a_well_formed_rejection(
    value: bytes, topic: str
) -> None:
    assert_well_formed(decode(value, topic))


@given(JSON, TOPIC_NAMES)
def test_arbitrary_json_never_raises(data: Any, topic: str) -> None:
    assert_well_formed(decode(json.dumps(data).encode(), topic))


ENVELOPE_FIELDS = [
    "event_id",
    "event_type",
    "schema_version",
    "occurred_at",
    "request_id",
    "producer",
    "correlation_id",
    "idempotency_key",
    "payload",
]


@given(
    st.sampled_from(sorted(EVENTS)),
    st.dictionaries(st.sampled_from(ENVELOPE_FIELDS), JSON, max_size=3),
    st.dictionaries(st.text(max_size=12), JSON, max_size=3),
    TOPIC_NAMES,
)
def test_a_valid_envelope_with_random_fields_replaced_never_raises(
    event_type: str, envelope_changes: dict[str, Any], payload_changes: dict[str, Any], topic: str
) -> None:
    data = envelope(event_type, **envelope_changes)
    if isinstance(data["payload"], dict):
        data["payload"] = {**data["payload"], **payload_changes}
    result = decode(encode(data), topic)
    assert_well_formed(result)
    if isinstance(result, Rejected) and result.reason_code == "invalid_payload":
        assert result.field_path is not None
        assert result.field_path == "payload" or result.field_path.startswith("payload.")


def _with_personal_value(value: Any, personal: str, style: int) -> Any:
    match style:
        case 0:
            return personal
        case 1:
            return f"{personal} " * 30  # too long for most fields
        case 2:
            return [personal]
        case 3:
            return {"value": personal}
        case _:
            return {"nested": [{"value": personal}], "also": value}


@settings(max_examples=150)
@given(
    st.sampled_from(sorted(EVENTS)),
    st.data(),
    st.one_of(personal_numbers(), st.emails()),
    st.integers(0, 4),
)
def test_no_rejection_quotes_a_personal_value_from_the_message(
    event_type: str, data: st.DataObject, personal: str, style: int
) -> None:
    message = envelope(event_type)
    target = data.draw(st.sampled_from(["envelope", "payload"]))
    fields = message if target == "envelope" else message["payload"]
    name = data.draw(st.sampled_from(sorted(fields)))
    fields[name] = _with_personal_value(fields[name], personal, style)
    result = decode_data(message, event_type)
    if isinstance(result, Rejected):
        assert REASON.match(result.reason_code)
        quoted = result.reason_code + (result.field_path or "")
        assert personal not in quoted


@given(national_ids())
def test_an_invalid_payload_holding_a_national_id_names_the_field_not_the_value(national_id: str) -> None:
    data = envelope("request.submitted")
    data["payload"]["subject"] = {"national_id": national_id * 2}  # over max_length=20
    got = rejected(decode_data(data, "request.submitted"))
    assert got == Rejected("invalid_payload", "payload.subject.national_id")


@pytest.mark.parametrize(
    ("where", "event_type"),
    [
        ("top-level key", "request.cancelled"),
        ("payload key", "request.cancelled"),
        ("findings_by_system key", "request.located"),
        ("corrections key", "request.submitted"),
    ],
)
def test_no_rejection_quotes_a_personal_value_used_as_a_key(where: str, event_type: str) -> None:
    data = envelope(event_type)
    match where:
        case "top-level key":
            data[NATIONAL_ID] = 1
        case "payload key":
            data["payload"][NATIONAL_ID] = 1
        case "findings_by_system key":
            data["payload"]["findings_by_system"] = {NATIONAL_ID: "many"}
        case _:
            data["payload"]["details"] = {"corrections": {NATIONAL_ID: 5}}
    got = rejected(decode_data(data, event_type))
    assert NATIONAL_ID not in (got.field_path or "")
