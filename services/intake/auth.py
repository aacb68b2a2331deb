"""API keys: `name:role:secret` entries from `DSR_API_KEYS`; every write is attributed to the name."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


class Role(StrEnum):
    system = "system"
    agent = "agent"
    ops = "ops"


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    secret: str


class KeyConfigError(ValueError):
    pass


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


def require(*roles: Role) -> object:
    async def check(key: Annotated[ApiKey, Depends(_caller)]) -> ApiKey:
        if key.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {key.role} may not do this")
        return key

    return Depends(check)
