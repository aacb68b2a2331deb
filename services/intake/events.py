"""What intake writes besides the request's row: the events it announces and the audit details."""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestVerified, VerificationRequested
from schemas.requests import RequestStatus, RequestType, Verification
from services.intake.domain.assurance import REQUIRED, Assurance

NAME = "intake"


def verification_detail(verification: Verification, level: Assurance) -> dict[str, Any]:
    return {
        "method": verification.method.value,
        "checks": [c.value for c in verification.checks],
        "verified_by": verification.verified_by,
        "assurance": level.name,
    }


def status_event(
    status: RequestStatus, reference: str, request_type: RequestType, due: date, common: dict[str, Any]
) -> Envelope[Any]:
    if status is RequestStatus.verified:
        return Envelope[RequestVerified](
            event_type="request.verified",
            payload=RequestVerified(reference=reference, type=request_type, due_date=due),
            **common,
        )
    return Envelope[VerificationRequested](
        event_type="request.verification_requested",
        payload=VerificationRequested(
            reference=reference, due_date=due, required_assurance=REQUIRED[request_type].name
        ),
        **common,
    )


def event_common(row: asyncpg.Record) -> dict[str, Any]:
    return {"producer": NAME, "request_id": row["id"], "correlation_id": row["correlation_id"]}
