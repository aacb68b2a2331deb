"""The console's actions on a request: each a POST with the session's CSRF token, done through the
same service functions the API and the locator use, attributed to the signed-in person."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from schemas.requests import Verification
from services.api.web import artifact_store, runtime_pool
from services.artifacts.store import ArtifactStore
from services.authority import Action
from services.console import forms, sessions
from services.console.decisions import DPO_DECISIONS, DpoDecision
from services.console.web import (
    guard,
    now,
    read_form,
    redirect,
)
from services.erasure.tasks import COUNTS as ERASURE_COUNTS
from services.erasure.tasks import TaskConflict as ErasureTaskConflict
from services.erasure.tasks import confirm_task
from services.intake import errors, lifecycle
from services.intake.domain.identifiers import (
    InvalidIdentifier,
)
from services.locator.manual import TaskConflict, answer_task
from services.locator.review import ReviewConflict, resolve_ambiguity
from services.runtime.ledger import audit
from services.runtime.lifecycle import IllegalTransition

router = APIRouter(include_in_schema=False)

Verifier = Annotated[sessions.Session, guard(Action.verify)]
Extender = Annotated[sessions.Session, guard(Action.extend)]
Canceller = Annotated[sessions.Session, guard(Action.cancel)]
Worker = Annotated[sessions.Session, guard(Action.work_case)]
Downloader = Annotated[sessions.Session, guard(Action.download)]

LINK_VALIDITY = timedelta(minutes=5)


def _back(request_id: uuid.UUID, outcome: str = "notice=done") -> Response:
    return redirect(f"/console/requests/{request_id}?{outcome}")


@router.post("/console/requests/{request_id}/verification")
async def record_verification(request: Request, request_id: uuid.UUID, session: Verifier) -> Response:
    form = await read_form(request, session)
    checks = [c for c in form.get("checks", []) if c in forms.CHECKS]
    method = "id_document" if forms.first(form, "id_document") else "phone_checks"
    try:
        verification = Verification.model_validate(
            {"method": method, "checks": checks, "verified_by": session.account}
        )
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await lifecycle.record_verification(
                conn, request_id, verification, actor=session.account, now=now()
            )
    except (errors.Conflict, InvalidIdentifier, ValidationError):
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/extension")
async def extend(request: Request, request_id: uuid.UUID, session: Extender) -> Response:
    form = await read_form(request, session)
    months, reason = forms.first(form, "months"), forms.first(form, "reason")
    if months not in ("1", "2") or not 10 <= len(reason) <= 2000:
        return _back(request_id, "error=invalid")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await lifecycle.extend(
                conn, request_id, months=int(months), reason=reason, actor=session.account, now=now()
            )
    except errors.Conflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/cancel")
async def cancel(request: Request, request_id: uuid.UUID, session: Canceller) -> Response:
    form = await read_form(request, session)
    reason = forms.first(form, "reason")
    if not 3 <= len(reason) <= 200:
        return _back(request_id, "error=invalid")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await lifecycle.cancel(conn, request_id, reason=reason, actor=session.account)
    except errors.Conflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/resolution")
async def resolve(request: Request, request_id: uuid.UUID, session: Worker) -> Response:
    form = await read_form(request, session)
    raw = forms.first(form, "choice")
    if raw != "none" and not raw.isdigit():
        return _back(request_id, "error=invalid")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await resolve_ambiguity(
                conn, request_id, choice=None if raw == "none" else int(raw), actor=session.account
            )
    except ReviewConflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/tasks/{task_id}/answer")
async def answer(request: Request, task_id: int, session: Worker) -> Response:
    form = await read_form(request, session)
    found, note = forms.first(form, "found"), forms.first(form, "note")[:2000]
    if found not in ("yes", "no"):
        return redirect("/console/queue")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            request_id = await answer_task(
                conn, task_id, found=found == "yes", note=note, actor=session.account
            )
    except TaskConflict:
        return redirect("/console/queue")
    return _back(request_id)


@router.post("/console/tasks/{task_id}/confirm")
async def confirm_erasure(request: Request, task_id: int, session: Worker) -> Response:
    """An agent confirms a manual erasure task done (the note is required; counts are optional);
    the erasure worker then ends the plan. Audited under the person's name."""
    form = await read_form(request, session)
    note = forms.first(form, "note")
    counts: dict[str, int] = {}
    valid = 3 <= len(note) <= 2000
    for name in ERASURE_COUNTS:
        raw = forms.first(form, name)
        if raw:
            if not raw.isdigit() or int(raw) > 1_000_000:
                valid = False
            else:
                counts[name] = int(raw)
    pool = runtime_pool(request)
    request_id = await pool.fetchval(
        "select request_id from manual_tasks where id = $1 and kind = 'erasure'", task_id
    )
    if request_id is None:
        return redirect("/console/queue")
    if not valid:
        return _back(request_id, "error=invalid")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await confirm_task(conn, task_id, actor=session.account, note=note, counts=counts)
    except (ErasureTaskConflict, IllegalTransition):
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/artifacts/{artifact_id}")
async def download_artifact(
    request: Request, request_id: uuid.UUID, artifact_id: uuid.UUID, session: Downloader
) -> Response:
    """A fresh one-time link, issued to this person (audited), and straight to it."""
    await read_form(request, session)
    store: ArtifactStore = artifact_store(request)
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        owner = await conn.fetchval(
            "select request_id from artifacts where id = $1 and purged_at is null", artifact_id
        )
        if owner != request_id:
            return _back(request_id, "error=conflict")
        token = await store.issue_link(
            conn, artifact_id, issued_to=session.account, valid_for=LINK_VALIDITY, now=now()
        )
    return redirect(f"/v1/downloads/{token}")


def _decision_route(name: str, chosen: DpoDecision) -> None:
    """One route per decision, guarded by the decision's own action: the role is checked before
    anything is read."""

    checked = guard(chosen.action)  # a default, not an annotation: evaluated here, per decision

    async def decide(
        request: Request, request_id: uuid.UUID, session: sessions.Session = checked
    ) -> Response:
        form = await read_form(request, session)
        try:
            async with runtime_pool(request).acquire() as conn, conn.transaction():
                if not await conn.fetchval("select true from requests where id = $1", request_id):
                    return _back(request_id, "error=conflict")
                await chosen.handler(conn, request_id, form, session.account, request)
                await audit(conn, request_id, session.account, f"dpo.{name}", {})
        except errors.Conflict:
            return _back(request_id, "error=conflict")
        return _back(request_id)

    router.add_api_route(
        f"/console/requests/{{request_id}}/dpo/{name}", decide, methods=["POST"], name=f"dpo_{name}"
    )


for _name, _decision in DPO_DECISIONS.items():
    _decision_route(_name, _decision)
