"""API keys: `name:role:secret` entries from `DSR_API_KEYS`; every write is attributed to the name.

What a key may do is the product's one authority table (`services.authority`): every route takes
`allowed(action)`, which refuses (403, with the reason) a role the table does not give the action,
and a system key a request it did not submit.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.authority import NOT_OWN, Action, Reach, Role, reach, refusal

__all__ = ["ApiKey", "KeyConfigError", "Role", "allowed", "parse_keys", "submitted_by"]


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    secret: str


class KeyConfigError(ValueError):
    pass


RESERVED_NAMES = frozenset(
    {
        "public-web-form",
        "public-email-link",
        "intake",
        "locator",
        "fulfilment",
        "erasure",
        "notifier",
        "tracker",
        "subject",
    }
)
"""Names the pipeline records its own actions under: a system key's requests are those recorded
under its name, so no key may take one of these."""


def parse_keys(spec: str) -> list[ApiKey]:
    """Parse `name:role:secret,...`; errors name the entry by position only: a misordered entry
    could put the secret where the name belongs."""
    keys = []
    for position, entry in enumerate(filter(None, (e.strip() for e in spec.split(","))), start=1):
        parts = entry.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise KeyConfigError(f"DSR_API_KEYS entry {position}: expected name:role:secret")
        name, role, secret = parts
        if role not in Role.__members__:
            raise KeyConfigError(
                f"DSR_API_KEYS entry {position} ({name}): role must be one of {', '.join(Role)}"
            )
        if name in RESERVED_NAMES:
            raise KeyConfigError(
                f"DSR_API_KEYS entry {position} ({name}): the name is the pipeline's own actor; "
                "a key by that name would own the requests it submits"
            )
        if len(secret) < 16:
            raise KeyConfigError(
                f"DSR_API_KEYS entry {position} ({name}): secret must be at least 16 characters"
            )
        keys.append(ApiKey(name, Role(role), secret))
    return keys


_bearer = HTTPBearer(auto_error=False)


def _keys(request: Request) -> list[ApiKey]:
    state = request.app.state
    if getattr(state, "api_keys", None) is None:
        state.api_keys = parse_keys(state.settings.api_keys)
    return state.api_keys  # type: ignore[no-any-return]


async def _caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> ApiKey:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer API key", {"WWW-Authenticate": "Bearer"}
        )
    presented = credentials.credentials.encode()
    for key in _keys(request):
        if hmac.compare_digest(key.secret.encode(), presented):
            return key
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown API key", {"WWW-Authenticate": "Bearer"})


async def submitted_by(conn: Any, request_id: uuid.UUID, name: str) -> bool:
    """Whether `name` submitted the request (its `received` entry is under that name: the key's
    name over HTTP, the producer's over Kafka, which is also the request's idempotency scope)."""
    return bool(
        await conn.fetchval(
            """select exists (select 1 from request_status_history
                              where request_id = $1 and status = 'received' and actor = $2)""",
            request_id,
            name,
        )
    )


def allowed(action: Action, *, scoped_by_caller: bool = False) -> Any:
    """The route's guard: the caller's key, when the authority table gives its role `action`.

    A role with `Reach.own` passes only for a request (the path's `request_id`) it submitted, or on
    a route whose query is itself limited to the caller's requests (`scoped_by_caller`); anything
    else is refused, so a new route cannot open other systems' requests by omission.
    """

    async def check(request: Request, key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        found = reach(key.role, action)
        if found is None:
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal(key.role, action))
        if found is Reach.own and not scoped_by_caller:
            raw = request.path_params.get("request_id")
            try:
                request_id = uuid.UUID(str(raw))
            except ValueError:
                raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_OWN) from None
            runtime = request.app.state.runtime
            if runtime is None:
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "starting up")
            async with runtime.pool.acquire() as conn:
                if not await submitted_by(conn, request_id, key.name):
                    raise HTTPException(status.HTTP_403_FORBIDDEN, NOT_OWN)
        return key

    check.authority = action  # type: ignore[attr-defined]  # read by `services.authority.route_action`
    return Depends(check)
