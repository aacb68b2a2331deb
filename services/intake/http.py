"""The public intake API: `POST /v1/requests` for forms, integrated systems and the agent console."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from pydantic import BaseModel

from schemas.requests import RequestSubmission, RequestView
from services.intake import service
from services.intake.auth import ApiKey, Role, require

router = APIRouter(prefix="/v1/requests", tags=["requests"])


class StatusChange(BaseModel):
    status: str
    at: Any
    actor: str
    reason: str | None = None


class RequestDetail(RequestView):
    history: list[StatusChange]


def _pool(request: Request) -> Any:
    runtime = request.app.state.runtime
    if runtime is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "starting up")
    return runtime.pool


@router.post("", status_code=status.HTTP_202_ACCEPTED, summary="Submit a data subject request")
async def submit_request(
    body: RequestSubmission,
    request: Request,
    caller: Annotated[ApiKey, require(Role.system, Role.agent)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> RequestView:
    async with _pool(request).acquire() as conn, conn.transaction():
        result = await service.submit(conn, body, actor=caller.name, idempotency_key=idempotency_key)
    return result.view


@router.get("", summary="Find a request by the idempotency key it was submitted with")
async def find_by_idempotency_key(
    request: Request,
    caller: Annotated[ApiKey, require(Role.system, Role.agent, Role.ops)],
    idempotency_key: Annotated[str, Query(min_length=1, max_length=200)],
) -> list[RequestView]:
    async with _pool(request).acquire() as conn:
        found = await service.find_by_key(conn, caller.name, idempotency_key)
    return [found] if found else []


@router.get("/{request_id}", summary="A request with its status history")
async def get_request(
    request_id: uuid.UUID,
    request: Request,
    caller: Annotated[ApiKey, require(Role.system, Role.agent, Role.ops)],
) -> RequestDetail:
    async with _pool(request).acquire() as conn:
        found = await service.find(conn, request_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request")
    view, history = found
    return RequestDetail(**view.model_dump(), history=[StatusChange(**h) for h in history])
