"""The published event contract (schemas/generated/) matches the registries and the pydantic models."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import jsonschema
import pytest
import yaml
from jsonschema.protocols import Validator
from pydantic import BaseModel
from referencing import Registry
from referencing.jsonschema import DRAFT7

from schemas import events, generate
from schemas.envelope import Envelope
from schemas.registry import EVENTS, TOPICS
from schemas.requests import Channel, RequestStatus, RequestSubmission, RequestType

REGENERATE = "run `python -m schemas.generate` and commit schemas/generated/"
ASYNCAPI_URI = "urn:dsr-pipeline:asyncapi"

SAMPLES: dict[str, BaseModel] = {
    "request.submitted": events.RequestSubmitted.model_validate(
        {
            "type": "access",
            "channel": "plan_and_pay",
            "subject": {"national_id": "01010112345", "email": "kari@example.org"},
            "received_at": "2025-01-02T09:30:00+01:00",
            "verification": {"method": "bankid", "checks": ["national_id"], "verified_by": "plan-and-pay"},
            "details": {"language": "en", "notes": "by the portal"},
        }
    ),
    "request.accepted": events.RequestAccepted(
        request_id=str(uuid.uuid4()),
        reference="DSR-2025-0001",
        status=RequestStatus.received,
        due_date=date(2025, 2, 1),
    ),
    "request.rejected": events.RequestRejected(reason_code="validation.subject", field_path="subject.email"),
    "request.received": events.RequestReceived(
        reference="DSR-2025-0001",
        type=RequestType.erasure,
        channel=Channel.email,
        status=RequestStatus.received,
        due_date=date(2025, 2, 1),
    ),
    "request.verification_requested": events.VerificationRequested(
        reference="DSR-2025-0001", due_date=date(2025, 2, 1), required_assurance="substantial"
    ),
    "request.verified": events.RequestVerified(
        reference="DSR-2025-0001", type=RequestType.access, due_date=date(2025, 2, 1)
    ),
    "request.cancelled": events.RequestCancelled(
        reference="DSR-2025-0001", reason="withdrawn by the subject"
    ),
    "request.refused": events.RequestRefused(
        reference="DSR-2026-000123", reason_code="identity_not_confirmed"
    ),
    "request.deadline_extended": events.DeadlineExtended(
        reference="DSR-2025-0001", due_date=date(2025, 4, 1)
    ),
    "request.located": events.SubjectLocated(
        type=RequestType.access,
        finding_count=3,
        systems_searched=2,
        findings_by_system={"crm": 2, "billing": 1},
    ),
    "request.review_required": events.ReviewRequired(stage="locate", reason_code="ambiguous.match"),
    "request.fulfilled": events.RequestFulfilled(
        type=RequestType.access, status=RequestStatus.completed, artifact_count=1
    ),
    "request.referred_to_controller": events.ReferredToController(
        reference="DSR-2026-000123",
        type=RequestType.access,
        system="invoicing",
        controller="Nordlys Energi AS",
        controller_org_number="912345678",
        record_count=2,
    ),
    "request.at_risk": events.DeadlineAtRisk(
        reference="DSR-2026-000123", due_date=date(2026, 12, 24), days_left=5
    ),
    "request.overdue": events.DeadlineMissed(
        reference="DSR-2026-000123", due_date=date(2026, 12, 24), days_overdue=2
    ),
    "recipient.notified": events.RecipientNotified(
        reference="DSR-2026-000123",
        recipient="creditor",
        change="erased",
        tables=["debt_collection.case_notes"],
        record_count=2,
    ),
    "subject.restriction_lifting": events.RestrictionLifting(
        reference="DSR-2026-000123", record_count=3, lifted_by="agent-kari"
    ),
    "dead_letter.recorded": events.DeadLetterRecorded(
        reason_code="decode.json",
        consumer="locator",
        source_topic="dsr.requests.v1",
        source_partition=0,
        source_offset=42,
        original_value_b64="bm90IGpzb24=",
    ),
}


@pytest.fixture(scope="module")
def asyncapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (generate.GENERATED_DIR / generate.ASYNCAPI_FILE).read_text("utf-8")
    )
    return loaded


def sample_envelope(event_type: str) -> dict[str, Any]:
    """An envelope built and serialised by the pydantic models, as a producer would send it."""
    spec = EVENTS[event_type]
    envelope = Envelope[spec.payload](  # type: ignore[name-defined]
        event_type=event_type,
        occurred_at=datetime(2025, 1, 2, 8, 30, tzinfo=UTC),
        request_id=uuid.uuid4(),
        producer="contract-test",
        idempotency_key="retry-key-1",
        payload=SAMPLES[event_type],
    )
    dumped: dict[str, Any] = envelope.model_dump(mode="json")
    return dumped


def validator_for(event_type: str) -> Validator:
    schema = generate.event_schema(EVENTS[event_type])
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def other_event_type(event_type: str) -> str:
    return next(et for et in sorted(EVENTS) if et != event_type)


def test_generated_files_are_up_to_date() -> None:
    problems = generate.check()
    assert not problems, (
        "the generated event contract is out of date:\n" + "\n".join(problems) + f"\n{REGENERATE}"
    )


def test_generation_is_deterministic() -> None:
    assert generate.generated_files() == generate.generated_files()


def test_every_event_type_has_a_topic_and_a_schema_file() -> None:
    for event_type, spec in EVENTS.items():
        assert spec.topic in TOPICS, f"{event_type}: topic {spec.topic} is not in TOPICS"
        assert event_type in TOPICS[spec.topic].event_types
        assert (generate.GENERATED_DIR / f"{event_type}.json").is_file(), (
            f"{event_type}.json missing: {REGENERATE}"
        )
    assert (generate.GENERATED_DIR / generate.SUBMISSION_FILE).is_file(), REGENERATE


def test_every_topic_says_who_produces_and_consumes_it() -> None:
    assert set(generate.PARTIES) == set(TOPICS), "keep PARTIES in schemas/generate.py in step with TOPICS"


def test_every_event_type_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENTS), "add a sample payload for each new event type to SAMPLES"


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_schema_accepts_a_sample_envelope(event_type: str) -> None:
    validator_for(event_type).validate(sample_envelope(event_type))


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_schema_rejects_a_wrong_event_type(event_type: str) -> None:
    envelope = sample_envelope(event_type) | {"event_type": other_event_type(event_type)}
    errors = list(validator_for(event_type).iter_errors(envelope))
    assert [error.validator for error in errors] == ["const"]


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_schema_rejects_an_unknown_field(event_type: str) -> None:
    envelope = sample_envelope(event_type)
    with pytest.raises(jsonschema.ValidationError):
        validator_for(event_type).validate(envelope | {"payload": envelope["payload"] | {"surprise": 1}})


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_asyncapi_payload_accepts_the_sample_and_rejects_a_wrong_event_type(
    event_type: str, asyncapi: dict[str, Any]
) -> None:
    registry: Registry[Any] = Registry().with_resource(ASYNCAPI_URI, DRAFT7.create_resource(asyncapi))
    payload = {"$ref": f"{ASYNCAPI_URI}#/components/messages/{event_type}/payload"}
    validator = jsonschema.Draft7Validator(payload, registry=registry)
    validator.validate(sample_envelope(event_type))
    assert not validator.is_valid(sample_envelope(event_type) | {"event_type": other_event_type(event_type)})


def test_submission_schema_matches_the_model() -> None:
    schema = generate.submission_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    body = RequestSubmission.model_validate(SAMPLES["request.submitted"].model_dump()).model_dump(mode="json")
    validator.validate(body)
    assert not validator.is_valid(body | {"type": "everything"})


def test_asyncapi_lists_every_topic_and_event_type(asyncapi: dict[str, Any]) -> None:
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["info"]["version"] == generate.package_version()
    channels = {channel["address"]: channel for channel in asyncapi["channels"].values()}
    assert set(channels) == set(TOPICS)
    for name, topic in TOPICS.items():
        assert set(channels[name]["messages"]) == set(topic.event_types)
        assert channels[name]["bindings"]["kafka"]["partitions"] == topic.partitions
    assert set(asyncapi["components"]["messages"]) == set(EVENTS)
    actions = {(op["channel"]["$ref"].split("/")[-1], op["action"]) for op in asyncapi["operations"].values()}
    assert actions == {(cid, action) for cid in asyncapi["channels"] for action in ("send", "receive")}


def test_asyncapi_refs_resolve(asyncapi: dict[str, Any]) -> None:
    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in refs(v)]
        return [r for v in node for r in refs(v)] if isinstance(node, list) else []

    found = refs(asyncapi)
    assert found and all(ref.startswith("#/") for ref in found)
    for ref in found:
        node: Any = asyncapi
        for part in ref[2:].split("/"):
            assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
            node = node[part]
