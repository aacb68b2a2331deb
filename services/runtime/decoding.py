"""Turning the bytes of a Kafka message into a typed envelope, or a reason it cannot be one.

Pure: no I/O. Every way a message can be unusable maps to one reason code, and reason codes
never quote the message (it may hold personal data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.envelope import Envelope, RawEnvelope, SchemaVersion
from schemas.registry import EVENTS

MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Rejected:
    reason_code: str
    field_path: str | None = None


def _first_error_path(error: ValidationError, prefix: str = "") -> str | None:
    errors = error.errors()
    if not errors:
        return None
    loc = ".".join(str(p) for p in errors[0]["loc"])
    return f"{prefix}{loc}" if loc else (prefix.rstrip(".") or None)


def decode(value: bytes | None, topic: str) -> Envelope[Any] | Rejected:
    """Decode `value` as an event that belongs on `topic` (the logical topic name)."""
    if value is None or len(value) == 0:
        return Rejected("malformed.empty")
    if len(value) > MAX_MESSAGE_BYTES:
        return Rejected("malformed.too_large")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return Rejected("malformed.encoding")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return Rejected("malformed.json")
    if not isinstance(data, dict):
        return Rejected("malformed.envelope")
    try:
        raw = RawEnvelope.model_validate(data)
    except ValidationError as exc:
        return Rejected("malformed.envelope", _first_error_path(exc))
    spec = EVENTS.get(raw.event_type)
    if spec is None or spec.topic != topic:
        return Rejected("unknown_event_type", "event_type")
    if SchemaVersion.major(raw.schema_version) != spec.major:
        return Rejected("unsupported_schema_version", "schema_version")
    try:
        payload: BaseModel = spec.payload.model_validate(raw.payload)
    except ValidationError as exc:
        return Rejected("invalid_payload", _first_error_path(exc, "payload."))
    fields = {name: getattr(raw, name) for name in type(raw).model_fields if name != "payload"}
    return Envelope[Any].model_construct(**fields, payload=payload)
