"""The public intake API: `POST /v1/requests` for forms, integrated systems and the agent console."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, Field

from schemas.requests import ContractInput, RequestSubmission, RequestView, Verification
from services.api.auth import ApiKey, allowed
from services.api.web import runtime_pool
from services.authority import Action
from services.intake import admission, lifecycle, requests
from services.intake.group_commit import GroupCommit

router = APIRouter(prefix="/v1/requests", tags=["requests"])


class StatusChange(BaseModel):
    status: str
    at: datetime
    actor: str
    reason: str | None = None


class RequestDetail(RequestView):
    history: list[StatusChange]


class Submission(RequestView):
    duplicate_of: str | None = Field(
        default=None, description="Set when an open request of this type for this subject exists: this is it."
    )


class Extension(ContractInput):
    months: int = Field(ge=1, le=2, description="Further months, at most two in all")
    reason: str = Field(min_length=10, max_length=2000, description="Told to the subject")


class Cancellation(ContractInput):
    reason: str = Field(min_length=3, max_length=200)


def group_commit(request: Request) -> GroupCommit:
    """The service's group commit, made on first use (the pool exists only once the service runs)."""
    pool = runtime_pool(request)
    current: GroupCommit | None = getattr(request.app.state, "group_commit", None)
    if current is None or current.pool is not pool:
        settings = request.app.state.settings
        current = GroupCommit(
            pool,
            accept_synthetic=settings.accept_synthetic_ids,
            max_batch=settings.intake_batch_max,
            transactions=settings.intake_transactions,
        )
        request.app.state.group_commit = current
    return current


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Submit a data subject request")
async def submit_request(
    body: RequestSubmission,
    request: Request,
    response: Response,
    caller: Annotated[ApiKey, allowed(Action.submit)],
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Submission:
    result = await group_commit(request).submit(admission.Pending(body, caller.name, idempotency_key))
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return Submission(**result.view.model_dump(), duplicate_of=result.duplicate_of)


@router.get("", summary="Find a request by the idempotency key it was submitted with")
async def find_by_idempotency_key(
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.read, scoped_by_caller=True)],
    idempotency_key: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")],
) -> list[RequestView]:
    async with runtime_pool(request).acquire() as conn:
        found = await requests.find_by_key(conn, caller.name, idempotency_key)
    return [found] if found else []


@router.get("/{request_id}", summary="A request with its status history")
async def get_request(
    request_id: uuid.UUID, request: Request, caller: Annotated[ApiKey, allowed(Action.read)]
) -> RequestDetail:
    async with runtime_pool(request).acquire() as conn:
        found = await requests.find(conn, request_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request")
    view, history = found
    return RequestDetail(**view.model_dump(), history=[StatusChange(**h) for h in history])


@router.post("/{request_id}/verification", summary="Record identity evidence; resumes a waiting request")
async def record_verification(
    request_id: uuid.UUID,
    body: Verification,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.verify)],
) -> RequestView:
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        return await lifecycle.record_verification(
            conn, request_id, body, actor=caller.name, now=datetime.now(UTC)
        )


@router.post("/{request_id}/extension", summary="Extend the deadline by up to two further months")
async def extend_deadline(
    request_id: uuid.UUID,
    body: Extension,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.extend)],
) -> RequestView:
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        return await lifecycle.extend(
            conn, request_id, months=body.months, reason=body.reason, actor=caller.name, now=datetime.now(UTC)
        )


@router.post("/{request_id}/cancel", summary="Withdraw a request")
async def cancel_request(
    request_id: uuid.UUID,
    body: Cancellation,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.cancel)],
) -> RequestView:
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        return await lifecycle.cancel(conn, request_id, reason=body.reason, actor=caller.name)
