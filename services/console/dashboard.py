"""The SLA page (`/sla`, for ops and the DPO) and the JSON its script polls for live refresh."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from services.api.web import runtime_pool
from services.authority import Action
from services.console import sessions, sla
from services.console.i18n import translator
from services.console.web import (
    at_risk_days,
    guard,
    language,
    render,
    today,
)

router = APIRouter(include_in_schema=False)

WATCHERS = guard(Action.watch_sla)
POLLING_WATCHERS = guard(Action.watch_sla, touch=False)  # polling does not keep a session alive


@router.get("/sla")
async def sla_page(request: Request, session: Annotated[sessions.Session, WATCHERS]) -> Response:
    async with runtime_pool(request).acquire() as conn:
        snap = await sla.snapshot(
            conn, today=today(), at_risk_days=at_risk_days(request), now=datetime.now(UTC)
        )
    t = translator(language(request))
    return render(request, "sla.html", title=t("sla"), session=session, s=snap)


@router.get("/sla/data.json")
async def sla_data(request: Request, session: Annotated[sessions.Session, POLLING_WATCHERS]) -> JSONResponse:
    """The live panel, re-rendered on the server (the page's script swaps it in)."""
    async with runtime_pool(request).acquire() as conn:
        snap = await sla.snapshot(
            conn, today=today(), at_risk_days=at_risk_days(request), now=datetime.now(UTC)
        )
    t = translator(language(request))
    html = bytes(render(request, "sla_live.html", title="", session=session, s=snap).body).decode()
    return JSONResponse(
        {
            "generated_at": snap.generated_at.isoformat(),
            "open": snap.open_total,
            "buckets": snap.buckets,
            "at_risk": [{"reference": i.reference, "due_date": i.due_date.isoformat()} for i in snap.at_risk],
            "overdue": [{"reference": i.reference, "due_date": i.due_date.isoformat()} for i in snap.overdue],
            "completed_30_days": snap.completed_30_days,
            "html": html,
            "title": t("sla"),
        },
        headers={"Cache-Control": "no-store"},
    )
