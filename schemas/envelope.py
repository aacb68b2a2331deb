"""The common envelope every event travels in; its field names are public."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

P = TypeVar("P")

_VERSION = re.compile(r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$")


class SchemaVersion:
    """A `MAJOR.MINOR` version: a consumer accepts any minor of the majors it knows."""

    @staticmethod
    def major(version: str) -> int:
        match = _VERSION.match(version)
        if not match:
            raise ValueError("schema_version must look like MAJOR.MINOR")
        return int(match.group(1))


class Envelope(BaseModel, Generic[P]):
    """Metadata common to every event; the event's own data sits in `payload`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Unique per event; consumers dedupe on it."
    )
    event_type: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    schema_version: str = Field(
        default="1.0", pattern=r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$", description="MAJOR.MINOR"
    )
    occurred_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))
    request_id: uuid.UUID | None = Field(
        default=None, description="The data subject request this event is about, once one exists."
    )
    producer: str = Field(
        min_length=1, max_length=100, description="The service or system that published it."
    )
    correlation_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        min_length=1,
        max_length=200,
        description="Ties together every event caused by one original submission.",
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Set by an integrator: a retried submission with the same key has no new effect.",
    )
    payload: P

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)


class RawEnvelope(Envelope[dict[str, Any]]):
    """The envelope as it arrives, payload still undecoded: the first step of consuming.

    Here `event_id`, `schema_version` and `occurred_at` are required: a consumer deduplicates on
    the event id and must never invent one for a message that lacks it.
    """

    event_id: uuid.UUID
    schema_version: str = Field(pattern=r"^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$")
    occurred_at: AwareDatetime
    payload: dict[str, Any]
