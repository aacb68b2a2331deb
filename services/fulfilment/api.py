"""The reviewer's release of special-category data through the public API.

Rule: only the data protection officer decides (`Action.release_special` in `services.authority`,
the same rule as the console's); the decision is recorded and audited under the key's name.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from schemas.requests import RequestStatus
from services.api.auth import ApiKey, allowed
from services.api.web import runtime_pool
from services.authority import Action
from services.fulfilment.access import AccessFulfilment
from services.fulfilment.extract import SpecialRelease
from services.fulfilment.review import NotAwaitingRelease, decide
from services.fulfilment.service import build_access
from services.runtime.ledger import RequestNotFound

router = APIRouter(tags=["review"])


class ReviewDecision(BaseModel):
    """`release` the special-category fields in the extract, or `withhold` them; say why."""

    model_config = ConfigDict(extra="forbid")

    decision: SpecialRelease
    reason: str = Field(min_length=3, max_length=2000, description="Why; kept with the decision.")


class ReviewOutcome(BaseModel):
    request_id: uuid.UUID
    decision: SpecialRelease
    status: RequestStatus


def access_of(request: Request) -> AccessFulfilment:
    state = request.app.state
    if getattr(state, "access_fulfilment", None) is None:
        state.access_fulfilment = build_access(state.settings)
    return state.access_fulfilment  # type: ignore[no-any-return]


@router.post(
    "/v1/requests/{request_id}/review",
    summary="Release or withhold special-category data held back from an access extract",
    responses={404: {"description": "No such request"}, 409: {"description": "Not waiting for this review"}},
)
async def review(
    request_id: uuid.UUID,
    body: ReviewDecision,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.release_special)],
) -> ReviewOutcome:
    access = access_of(request)
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            final = await decide(
                conn, access, request_id, decision=body.decision, reason=body.reason, actor=caller.name
            )
    except RequestNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request") from None
    except NotAwaitingRelease:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "this request is not waiting for a person's release (special-category data or other people in free text)",
        ) from None
    return ReviewOutcome(request_id=request_id, decision=body.decision, status=final)
