"""The catalogue's drift in the console (`/console/drift`, the DPO and operations): every open
finding of the scheduled drift check, personal ones first, with the scaffold's suggestion and its
evidence as counts; per system, when it was last checked and how. The DPO's work queue carries one
entry per system with undescribed personal data, linking here.

Findings name systems, tables and columns and count values: they hold no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.web import runtime_pool
from services.authority import Action
from services.catalogue.drift.store import OpenFinding, SystemState, open_findings, system_states
from services.console import sessions
from services.console.i18n import translator
from services.console.web import guard, language, render

router = APIRouter(include_in_schema=False)

Reviewer = Annotated[sessions.Session, guard(Action.review_drift)]


@dataclass(frozen=True)
class DriftPage:
    findings: list[OpenFinding]
    systems: list[SystemState]
    last_finished_at: datetime | None
    next_check_at: datetime | None

    @property
    def personal(self) -> list[OpenFinding]:
        return [f for f in self.findings if f.personal]

    @property
    def other(self) -> list[OpenFinding]:
        return [f for f in self.findings if not f.personal]


@dataclass(frozen=True)
class QueueEntry:
    """One line of the DPO's work queue: a system with undescribed personal data."""

    system: str
    findings: int
    since: datetime


async def drift_page(conn: asyncpg.Connection) -> DriftPage:
    schedule = await conn.fetchrow("select last_finished_at, next_check_at from catalogue_drift_schedule")
    next_check = schedule["next_check_at"] if schedule else None
    return DriftPage(
        await open_findings(conn),
        list((await system_states(conn)).values()),
        schedule["last_finished_at"] if schedule else None,
        next_check if next_check is not None and next_check.year > 1 else None,
    )


async def queue_entries(conn: asyncpg.Connection) -> list[QueueEntry]:
    rows = await conn.fetch(
        """select system, count(*) as n, min(first_seen_at) as since from catalogue_drift_findings
           where resolved_at is null and personal group by system order by min(first_seen_at), system"""
    )
    return [QueueEntry(row["system"], row["n"], row["since"]) for row in rows]


@router.get("/console/drift")
async def drift(request: Request, session: Reviewer) -> Response:
    async with runtime_pool(request).acquire() as conn:
        page = await drift_page(conn)
    t = translator(language(request))
    return render(request, "drift.html", title=t("drift"), session=session, page=page)
