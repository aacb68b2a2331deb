"""The console's pages: the work queue, log a request, search, a request's detail.

Personal data travels only in form bodies and pages, never in URLs; page titles name references
at most. Logging a request goes through intake's own `submit`, as the API does."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from schemas.requests import RequestType
from services.api.web import artifact_store, runtime_pool
from services.authority import Action
from services.console import drift, forms, queries, sessions
from services.console.decisions import DPO_DECISIONS, open_decisions
from services.console.i18n import translator
from services.console.web import (
    Staff,
    at_risk_days,
    guard,
    language,
    may,
    read_form,
    redirect,
    render,
    today,
)
from services.intake import admission
from services.intake.domain.deadline import OSLO
from services.intake.domain.identifiers import (
    InvalidIdentifier,
    normalise_email,
    normalise_reference,
    parse_national_id,
)
from services.runtime.ledger import audit

router = APIRouter(include_in_schema=False)

Submitter = Annotated[sessions.Session, guard(Action.submit)]

SEARCH_KINDS = ("reference", "national_id", "case_number", "email")


@router.get("/console/queue")
async def queue(request: Request, session: Staff) -> Response:
    async with runtime_pool(request).acquire() as conn:
        items = await queries.work_queue(conn, today=today(), at_risk_days=at_risk_days(request))
        drifted = await drift.queue_entries(conn) if may(session, Action.review_drift) else []
    t = translator(language(request))
    return render(request, "queue.html", title=t("queue"), session=session, items=items, drifted=drifted)


def _new_request_page(
    request: Request,
    session: sessions.Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    t = translator(language(request))
    return render(
        request,
        "new_request.html",
        title=t("log_request"),
        session=session,
        status_code=status_code,
        values=values,
        errors=errors,
        types=[rt.value for rt in RequestType],
        channels=forms.CONSOLE_CHANNELS,
        checks=forms.CHECKS,
    )


@router.get("/console/requests/new")
async def new_request(request: Request, session: Submitter) -> Response:
    received = datetime.now(OSLO).strftime("%Y-%m-%dT%H:%M")
    values = {"type": "access", "channel": "phone", "language": "nb", "received_at": received, "checks": []}
    return _new_request_page(request, session, values=values, errors={})


@router.post("/console/requests")
async def log_request(request: Request, session: Submitter) -> Response:
    form = await read_form(request, session)
    values: dict[str, Any] = {
        name: forms.first(form, name) for name in form if name not in ("csrf", "checks")
    }
    values["checks"] = form.get("checks", [])
    parsed = forms.parse_request_form(form, verified_by=session.account)
    if parsed.submission is None:
        return _new_request_page(request, session, values=values, errors=parsed.errors, status_code=422)
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            result = await admission.submit(
                conn,
                parsed.submission,
                actor=session.account,
                accept_synthetic=request.app.state.settings.accept_synthetic_ids,
            )
    except InvalidIdentifier as exc:
        field = forms.form_field(exc.field)
        key = f"err_{exc.reason_code}"
        errors = {field: key if key in _ERROR_KEYS else "err_invalid"}
        return _new_request_page(request, session, values=values, errors=errors, status_code=422)
    notice = "duplicate" if result.duplicate_of else "logged"
    return redirect(f"/console/requests/{result.view.id}?notice={notice}")


_ERROR_KEYS = {
    "err_invalid_national_id",
    "err_invalid_email",
    "err_invalid_phone",
    "err_invalid_reference",
    "err_received_at_in_future",
    "err_received_at_too_old",
    "err_missing_corrections",
    "err_missing_objection_grounds",
}


@router.get("/console/search")
async def search_page(request: Request, session: Staff) -> Response:
    t = translator(language(request))
    return render(
        request,
        "search.html",
        title=t("search"),
        session=session,
        kinds=SEARCH_KINDS,
        kind="reference",
        value="",
        results=None,
        error=None,
    )


def _normalised(kind: str, value: str, accept_synthetic: bool) -> str:
    if kind == "national_id":
        return parse_national_id(value, accept_synthetic=accept_synthetic, field="value").value
    if kind == "email":
        return normalise_email(value, field="value")
    if kind == "case_number":
        return normalise_reference(value, field="value")
    return value.strip().upper()


@router.post("/console/search")
async def search(request: Request, session: Staff) -> Response:
    form = await read_form(request, session)
    kind, value = forms.first(form, "kind"), forms.first(form, "value")
    t = translator(language(request))
    error = results = None
    if kind not in SEARCH_KINDS:
        error, kind = "err_choice", "reference"
    elif not value:
        error = "err_required"
    else:
        try:
            normalised = _normalised(kind, value, request.app.state.settings.accept_synthetic_ids)
        except InvalidIdentifier as exc:
            error = f"err_{exc.reason_code}" if f"err_{exc.reason_code}" in _ERROR_KEYS else "err_invalid"
        else:
            async with runtime_pool(request).acquire() as conn, conn.transaction():
                results = await queries.search(conn, kind, normalised)
                await audit(
                    conn, None, session.account, "console.searched", {"by": kind, "results": len(results)}
                )
    return render(
        request,
        "search.html",
        title=t("search"),
        session=session,
        kinds=SEARCH_KINDS,
        kind=kind,
        value=value,
        results=results,
        error=error,
        status_code=422 if error else 200,
    )


def _plan_rows(plan: Any, lang: str) -> list[dict[str, Any]]:
    """The erasure plan's decisions for the preview: system, table, action, until/while, reason;
    the texts in `lang`, the case's request language (what the subject is told)."""
    if plan is None:
        return []
    rows = []
    for record in plan["plan"].get("records", []):
        condition = record.get("while") or {}
        reason = record.get("reason") or {}
        rows.append(
            {
                "system": record["system"],
                "table": record["table"],
                "action": record["action"],
                "until": record.get("until") or condition.get(lang) or "",
                "reason": reason.get(lang) or reason.get("en") or "",
                "review": record.get("review"),
            }
        )
    return rows


@router.get("/console/requests/{request_id}")
async def request_detail(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    t = translator(language(request))
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        found = await queries.detail(conn, request_id, today=today(), at_risk_days=at_risk_days(request))
        if found is not None:
            artifacts = await artifact_store(request).listing(conn, request_id)
            plan = await conn.fetchrow(
                """select status, review_reasons, decided_by, plan, attempts, next_attempt_at,
                          unreachable_since, unreachable_system
                   from erasure_plans where request_id = $1 and kind = 'request'""",
                request_id,
            )
            await audit(conn, request_id, session.account, "console.viewed", {})
    if found is None:
        return render(
            request,
            "message.html",
            title=t("not_found"),
            session=session,
            status_code=404,
            message="not_found",
        )
    notice = request.query_params.get("notice")
    error = request.query_params.get("error")
    return render(
        request,
        "detail.html",
        title=f"{found.request['reference']} · {t('app')}",
        session=session,
        d=found,
        r=found.request,
        artifacts=artifacts,
        plan=plan,
        plan_rows=_plan_rows(plan, "en" if found.request["language"] == "en" else "nb"),
        notice=notice if notice in ("logged", "duplicate", "done") else None,
        error=error if error in ("conflict", "invalid") else None,
        audit_summary=queries.audit_summary,
        checks=forms.CHECKS,
        dpo_decisions={
            name: decision
            for name, decision in open_decisions(
                found.request["status"], found.request["type"], plan["status"] if plan else None
            ).items()
            if may(session, decision.action)
        },
        is_dpo=any(may(session, decision.action) for decision in DPO_DECISIONS.values()),
    )
