"""`GET /v1/requests/{id}/audit-export`: the request's story for ops and agents, as JSON or PDF."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from services.api.auth import ApiKey, allowed
from services.api.web import runtime_pool
from services.audit.export import MEDIA_TYPES, export
from services.authority import Action

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/requests/{request_id}/audit-export",
    summary="A request's whole story for the data protection authority, with its audit chain verified",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
async def audit_export(
    request_id: uuid.UUID,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.export_audit)],
    format: Annotated[Literal["json", "pdf"], Query()] = "json",
) -> Response:
    async with runtime_pool(request).acquire() as conn:
        content = await export(conn, str(request_id), format, actor=caller.name, now=datetime.now(UTC))
    if content is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request")
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if format == "pdf":
        headers["Content-Disposition"] = f'attachment; filename="{request_id}-audit-export.pdf"'
    return Response(content, media_type=MEDIA_TYPES[format], headers=headers)
