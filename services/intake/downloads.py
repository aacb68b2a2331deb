"""Artifacts through the public API: agents list them with fresh links; anyone with a link fetches once.

A listing issues one live link per artifact to the caller and ends the ones it had before; the file
is served with the console's strict Content-Security-Policy (an HTML extract runs nothing, loads
nothing and cannot be framed, whoever opens it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from pydantic import BaseModel

from services.api.auth import ApiKey, allowed
from services.api.web import artifact_store
from services.api.web import runtime_pool as _pool
from services.artifacts.store import Refused
from services.authority import Action
from services.console.web import CSP

router = APIRouter(tags=["artifacts"])


class ArtifactLink(BaseModel):
    kind: str
    media_type: str
    size: int
    created_at: datetime
    download_url: str
    expires_at: datetime


@router.get(
    "/v1/requests/{request_id}/artifacts",
    summary="A request's artifacts, each with a fresh one-time link (ending the caller's earlier one)",
)
async def list_artifacts(
    request_id: uuid.UUID, request: Request, caller: Annotated[ApiKey, allowed(Action.download)]
) -> list[ArtifactLink]:
    store, now = artifact_store(request), datetime.now(UTC)
    valid_for = timedelta(days=request.app.state.settings.download_link_days)
    links = []
    async with _pool(request).acquire() as conn, conn.transaction():
        if not await conn.fetchval("select true from requests where id = $1", request_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such request")
        for row in await store.listing(conn, request_id):
            token = await store.issue_link(
                conn, row["id"], issued_to=caller.name, valid_for=valid_for, now=now
            )
            links.append(
                ArtifactLink(
                    kind=row["kind"],
                    media_type=row["media_type"],
                    size=row["size"],
                    created_at=row["created_at"],
                    download_url=str(request.url_for("download", token=token)),
                    expires_at=now + valid_for,
                )
            )
    return links


@router.get("/v1/downloads/{token}", name="download", summary="Fetch an artifact once with its link (no key)")
async def download(
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")], request: Request
) -> Response:
    async with _pool(request).acquire() as conn, conn.transaction():
        result = await artifact_store(request).redeem(conn, token, now=datetime.now(UTC))
    if result is Refused.unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such link")
    if result is Refused.spent:
        raise HTTPException(status.HTTP_410_GONE, "this link has been used or has expired")
    assert not isinstance(result, Refused)
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
            "Referrer-Policy": "no-referrer",
        },
    )
