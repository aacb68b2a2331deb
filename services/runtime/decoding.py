"""Turning the bytes of a Kafka message into a typed envelope, or a reason it cannot be one.

Pure: no I/O. Every way a message can be unusable maps to one reason code, and reason codes
never quote the message (it may hold personal data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from schemas.envelope import Envelope, RawEnvelope, SchemaVersion
from schemas.registry import EVENTS

MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Rejected:
    reason_code: str
    field_path: str | None = None


@cache
def _declared_field_names() -> frozenset[str]:
    """Every field name of every model in the contract: the only names a field path may show."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [RawEnvelope, *(spec.payload for spec in EVENTS.values())]
    while pending:
        model = pending.pop()
        for name, field in model.model_fields.items():
            names.add(name)
            pending.extend(_models_in(field.annotation))
    return frozenset(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _first_error_path(error: ValidationError, prefix: str = "") -> str | None:
    """The path of the first error, with any part that is not a declared field (a key the sender
    chose, which could be anything, a national id included) replaced by `*`."""
    errors = error.errors()
    if not errors:
        return None
    known = _declared_field_names()
    parts = [str(p) if isinstance(p, int) or p in known else "*" for p in errors[0]["loc"]]
    loc = ".".join(parts)
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
    except (ValueError, RecursionError):  # ValueError too: an integer of more than 4300 digits
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
