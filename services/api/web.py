"""What the API's routers share: the running service's ledger pool and artifact store, and the one
way an endpoint runs a command in a ledger transaction and answers 409 when the request's state
does not allow it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import HTTPException, Request, status

from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore


def runtime_pool(request: Request) -> Any:
    """The ledger pool of the running service; 503 while it starts."""
    runtime = request.app.state.runtime
    if runtime is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "starting up")
    return runtime.pool


def artifact_store(request: Request) -> ArtifactStore:
    """The service's artifact store, made on first use from `DSR_ARTIFACT_KEYS`."""
    state = request.app.state
    if getattr(state, "artifact_store", None) is None:
        state.artifact_store = ArtifactStore(ConfiguredKeys.parse(state.settings.artifact_keys))
    return state.artifact_store  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def in_transaction(
    request: Request, *, conflict: str, on: tuple[type[Exception], ...]
) -> AsyncIterator[Any]:
    """A ledger connection in a transaction; one of `on` raised inside rolls it back and answers
    409 with `conflict` (what the subject's request is not waiting for), nothing else about it."""
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            yield conn
    except on:
        raise HTTPException(status.HTTP_409_CONFLICT, conflict) from None
