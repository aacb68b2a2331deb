"""The console's pages and actions (`/console/...`) and the SLA page (`/sla`).

Reads are GETs; every state change is a POST with the session's CSRF token, done through the same
service functions the API uses, attributed to the signed-in person. Personal data travels only in
form bodies and pages, never in URLs; page titles name references at most.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from schemas.requests import RequestType, Verification
from services.artifacts.store import ArtifactStore
from services.console import forms, queries, sessions, sla, throttle
from services.console.accounts import ConsoleRole, check_password
from services.console.decisions import DPO_DECISIONS
from services.console.i18n import LANGUAGES, translator
from services.console.web import (
    Forbidden,
    accounts,
    clear_cookie,
    console_settings,
    current_session,
    language,
    now,
    pre_session_secret,
    read_form,
    redirect,
    render,
    set_cookie,
    signed_in,
)
from services.intake import service
from services.intake.domain.deadline import OSLO
from services.intake.domain.identifiers import (
    InvalidIdentifier,
    normalise_email,
    normalise_reference,
    parse_national_id,
)
from services.intake.downloads import _store
from services.intake.http import runtime_pool
from services.locator.manual import TaskConflict, answer_task
from services.locator.review import ReviewConflict, resolve_ambiguity
from services.runtime.ledger import audit

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

STAFF = Depends(signed_in(ConsoleRole.agent, ConsoleRole.dpo))
DPO = Depends(signed_in(ConsoleRole.dpo))
WATCHERS = Depends(signed_in(ConsoleRole.ops, ConsoleRole.dpo))
Staff = Annotated[sessions.Session, STAFF]

SEARCH_KINDS = ("reference", "national_id", "case_number", "email")
LINK_VALIDITY = timedelta(minutes=5)


def _today() -> Any:
    return datetime.now(OSLO).date()


def _at_risk_days(request: Request) -> int:
    return int(request.app.state.settings.at_risk_days)


def _first(form: dict[str, list[str]], name: str) -> str:
    return forms.first(form, name)


# ------------------------------------------------------------------------------ static files


@cache
def _static(name: str) -> bytes:
    return files("services.console").joinpath("static", name).read_bytes()


_STATIC_TYPES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


@router.get("/console/static/{name}")
async def static(name: str) -> Response:
    if name not in _STATIC_TYPES:
        return Response(status_code=404)
    return Response(_static(name), media_type=_STATIC_TYPES[name], headers={"Cache-Control": "max-age=300"})


# ------------------------------------------------------------------------------ signing in and out


@router.get("/console")
async def home(request: Request) -> Response:
    session = await current_session(request)
    if session is None:
        return redirect("/console/sign-in")
    return redirect("/sla" if session.role is ConsoleRole.ops else "/console/queue")


def _sign_in_page(
    request: Request, *, error: str | None = None, status_code: int = 200, name: str = ""
) -> Response:
    secret, new = pre_session_secret(request)
    t = translator(language(request))
    response = render(
        request,
        "sign_in.html",
        title=t("sign_in"),
        session=None,
        status_code=status_code,
        csrf=sessions.csrf_token(secret),
        error=error,
        name=name,
        next=request.query_params.get("next") == "sla",
    )
    if new:
        set_cookie(request, response, "dsr_console_pre", secret)
    return response


@router.get("/console/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/console/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request, None)
    name, password = _first(form, "name"), (form.get("password") or [""])[0]
    address = request.client.host if request.client else "unknown"
    settings = console_settings(request)
    moment = now()
    account = accounts(request).get(name)
    previous = await current_session(request)
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        await throttle.serialise(conn, name, address)
        if await throttle.refused(
            conn,
            name,
            address,
            now=moment,
            window=timedelta(seconds=settings.console_signin_window_seconds),
            max_account=settings.console_signin_max_failures_account,
            max_address=settings.console_signin_max_failures_address,
        ):
            log.warning("console sign-in refused: too many failures")
            return _sign_in_page(request, error="sign_in_throttled", status_code=429)
        # Argon2 is meant to be slow: off the event loop, and as slow for an unknown name.
        ok = await asyncio.to_thread(check_password, account, password)
        await throttle.record(conn, name, address, succeeded=ok, now=moment)
        if not ok or account is None:
            log.info("console sign-in failed")
            return _sign_in_page(request, error="sign_in_failed", status_code=401, name=name[:64])
        if previous is not None:  # signing in again ends the session this browser had
            await sessions.end(conn, previous.token, now=moment)
        session = await sessions.start(conn, account.name, account.role, now=moment)
        await audit(conn, None, account.name, "console.signed_in", {"role": account.role.value})
    wants_sla = _first(form, "next") == "sla" or account.role is ConsoleRole.ops
    response = redirect("/sla" if wants_sla and account.role is not ConsoleRole.agent else "/console/queue")
    set_cookie(
        request,
        response,
        "dsr_console",
        session.token,
        max_age=int(settings.console_session_lifetime_seconds),
    )
    clear_cookie(request, response, "dsr_console_pre")
    return response


@router.post("/console/sign-out")
async def sign_out(request: Request) -> Response:
    session = await current_session(request)
    if session is not None:
        await read_form(request, session)
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            account = await sessions.end(conn, session.token, now=now())
            if account:
                await audit(conn, None, account, "console.signed_out", {})
    response = redirect("/console/sign-in")
    clear_cookie(request, response, "dsr_console")
    return response


@router.post("/console/language")
async def set_language(request: Request) -> Response:
    session = await current_session(request)
    form = await read_form(request, session)
    lang = _first(form, "lang")
    back = _first(form, "back")
    target = (
        back
        if back.startswith(("/console/", "/sla")) and "//" not in back and "?" not in back
        else "/console"
    )
    response = redirect(target)
    if lang in LANGUAGES:
        response.set_cookie(
            "dsr_lang",
            lang,
            max_age=365 * 86400,
            path="/",
            httponly=True,
            samesite="strict",
            secure=console_settings(request).console_cookie_secure,
        )
    return response


# ------------------------------------------------------------------------------ pages


@router.get("/console/queue")
async def queue(request: Request, session: Staff) -> Response:
    async with runtime_pool(request).acquire() as conn:
        items = await queries.work_queue(conn, today=_today(), at_risk_days=_at_risk_days(request))
    t = translator(language(request))
    return render(request, "queue.html", title=t("queue"), session=session, items=items)


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
async def new_request(request: Request, session: Staff) -> Response:
    received = datetime.now(OSLO).strftime("%Y-%m-%dT%H:%M")
    values = {"type": "access", "channel": "phone", "language": "nb", "received_at": received, "checks": []}
    return _new_request_page(request, session, values=values, errors={})


@router.post("/console/requests")
async def log_request(request: Request, session: Staff) -> Response:
    form = await read_form(request, session)
    values: dict[str, Any] = {name: _first(form, name) for name in form if name not in ("csrf", "checks")}
    values["checks"] = form.get("checks", [])
    parsed = forms.parse_request_form(form, verified_by=session.account)
    if parsed.submission is None:
        return _new_request_page(request, session, values=values, errors=parsed.errors, status_code=422)
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            result = await service.submit(
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
    kind, value = _first(form, "kind"), _first(form, "value")
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


@router.get("/console/requests/{request_id}")
async def request_detail(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    t = translator(language(request))
    async with runtime_pool(request).acquire() as conn, conn.transaction():
        found = await queries.detail(conn, request_id, today=_today(), at_risk_days=_at_risk_days(request))
        if found is not None:
            artifacts = await _store(request).listing(conn, request_id)
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
        notice=notice if notice in ("logged", "duplicate", "done") else None,
        error=error if error in ("conflict", "invalid") else None,
        audit_summary=queries.audit_summary,
        checks=forms.CHECKS,
        dpo_decisions=DPO_DECISIONS,
        is_dpo=session.role is ConsoleRole.dpo,
    )


# ------------------------------------------------------------------------------ actions


def _back(request_id: uuid.UUID, outcome: str = "notice=done") -> Response:
    return redirect(f"/console/requests/{request_id}?{outcome}")


@router.post("/console/requests/{request_id}/verification")
async def record_verification(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    form = await read_form(request, session)
    checks = [c for c in form.get("checks", []) if c in forms.CHECKS]
    method = "id_document" if _first(form, "id_document") else "phone_checks"
    try:
        verification = Verification.model_validate(
            {"method": method, "checks": checks, "verified_by": session.account}
        )
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await service.record_verification(
                conn, request_id, verification, actor=session.account, now=now()
            )
    except (service.Conflict, InvalidIdentifier, ValidationError):
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/extension")
async def extend(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    form = await read_form(request, session)
    months, reason = _first(form, "months"), _first(form, "reason")
    if months not in ("1", "2") or not 10 <= len(reason) <= 2000:
        return _back(request_id, "error=invalid")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await service.extend(
                conn, request_id, months=int(months), reason=reason, actor=session.account, now=now()
            )
    except service.Conflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/cancel")
async def cancel(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    form = await read_form(request, session)
    reason = _first(form, "reason")
    if not 3 <= len(reason) <= 200:
        return _back(request_id, "error=invalid")
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            await service.cancel(conn, request_id, reason=reason, actor=session.account)
    except service.Conflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


@router.post("/console/requests/{request_id}/resolution")
async def resolve(request: Request, request_id: uuid.UUID, session: Staff) -> Response:
    form = await read_form(request, session)
    raw = _first(form, "choice")
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
async def answer(request: Request, task_id: int, session: Staff) -> Response:
    form = await read_form(request, session)
    found, note = _first(form, "found"), _first(form, "note")[:2000]
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


@router.post("/console/requests/{request_id}/artifacts/{artifact_id}")
async def download_artifact(
    request: Request, request_id: uuid.UUID, artifact_id: uuid.UUID, session: Staff
) -> Response:
    """A fresh one-time link, issued to this person (audited), and straight to it."""
    await read_form(request, session)
    store: ArtifactStore = _store(request)
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


@router.post("/console/requests/{request_id}/dpo/{decision}")
async def dpo_decision(
    request: Request, request_id: uuid.UUID, decision: str, session: Annotated[sessions.Session, DPO]
) -> Response:
    """Only the data protection officer gets here: the role is checked before anything is read."""
    form = await read_form(request, session)
    chosen = DPO_DECISIONS.get(decision)
    if chosen is None:
        raise Forbidden()
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            if not await conn.fetchval("select true from requests where id = $1", request_id):
                return _back(request_id, "error=conflict")
            await chosen.handler(conn, request_id, form, session.account)
            await audit(conn, request_id, session.account, f"dpo.{decision}", {})
    except service.Conflict:
        return _back(request_id, "error=conflict")
    return _back(request_id)


# ------------------------------------------------------------------------------ SLA


@router.get("/sla")
async def sla_page(request: Request, session: Annotated[sessions.Session, WATCHERS]) -> Response:
    async with runtime_pool(request).acquire() as conn:
        snap = await sla.snapshot(
            conn, today=_today(), at_risk_days=_at_risk_days(request), now=datetime.now(UTC)
        )
    t = translator(language(request))
    return render(request, "sla.html", title=t("sla"), session=session, s=snap)


@router.get("/sla/data.json")
async def sla_data(request: Request, session: Annotated[sessions.Session, WATCHERS]) -> JSONResponse:
    """The live panel, re-rendered on the server (the page's script swaps it in)."""
    async with runtime_pool(request).acquire() as conn:
        snap = await sla.snapshot(
            conn, today=_today(), at_risk_days=_at_risk_days(request), now=datetime.now(UTC)
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
