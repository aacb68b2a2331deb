"""Every console route, as the one router the intake app includes: the console at `/console`
and the SLA page at `/sla`. Reads are GETs; every state change is a POST with a CSRF token."""

from __future__ import annotations

from fastapi import APIRouter

from services.console import actions, dashboard, drift, letters, pages, signin

router = APIRouter(include_in_schema=False)
for part in (signin, pages, actions, letters, dashboard, drift):
    router.include_router(part.router)
