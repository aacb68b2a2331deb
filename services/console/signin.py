"""Signing in and out, the language switch, and the console's two static files.

Sign-in is rate-limited per account and address (`throttle`) and starts a new session each time;
the sign-in form's CSRF token comes from a pre-session cookie of its own."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.api.web import runtime_pool
from services.authority import Action, reach
from services.console import forms, sessions, throttle
from services.console.accounts import check_password
from services.console.i18n import LANGUAGES, translator
from services.console.web import (
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
)
from services.runtime.ledger import audit

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

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
    return redirect(_first_page(session.role.value, wants_sla=False))


def _first_page(role: str, *, wants_sla: bool) -> str:
    """The work queue for those who work cases, the SLA page for those who watch it (or asked)."""
    works = reach(role, Action.view_case) is not None
    watches = reach(role, Action.watch_sla) is not None
    return "/sla" if watches and (wants_sla or not works) else "/console/queue"


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
    name, password = forms.first(form, "name"), (form.get("password") or [""])[0]
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
    response = redirect(_first_page(account.role.value, wants_sla=forms.first(form, "next") == "sla"))
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
    lang = forms.first(form, "lang")
    back = forms.first(form, "back")
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
