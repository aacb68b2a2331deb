"""The console's HTTP plumbing: security headers, sessions from cookies, CSRF, roles, rendering.

Every console and `/sla` response carries a Content-Security-Policy without inline scripts or
styles and `frame-ancestors 'none'`, and is never cached. A state change needs a live session, a
role the product's authority table (`services.authority`) gives the route's action, and the
session's CSRF token in the form; forms are URL-encoded, parsed here.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.web import runtime_pool
from services.authority import Action, reach
from services.console import sessions
from services.console.accounts import Account, parse_accounts
from services.console.i18n import LANGUAGES, Lang, translator
from services.console.settings import ConsoleSettings
from services.documents.templates import environment
from services.intake.domain.deadline import OSLO

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]
CONSOLE_PATHS = ("/console", "/sla")
LANG_COOKIE = "dsr_lang"


class SecurityHeaders:
    """Adds the browser security headers to every console and `/sla` response."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(CONSOLE_PATHS):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((n, v) for n, v in [*_HEADERS, *self.extra] if n not in present),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class SignInRequired(Exception):
    pass


class Forbidden(Exception):
    pass


class CsrfRefused(Exception):
    pass


def console_settings(request: Request) -> ConsoleSettings:
    state = request.app.state
    if getattr(state, "console_settings", None) is None:
        state.console_settings = ConsoleSettings()
    return state.console_settings  # type: ignore[no-any-return]


def accounts(request: Request) -> dict[str, Account]:
    state = request.app.state
    if getattr(state, "console_accounts", None) is None:
        state.console_accounts = parse_accounts(console_settings(request).console_accounts)
    return state.console_accounts  # type: ignore[no-any-return]


def cookie_name(request: Request, base: str) -> str:
    """`__Host-` names when Secure: the browser then refuses one set by a subdomain or over HTTP."""
    return f"__Host-{base}" if console_settings(request).console_cookie_secure else base


def set_cookie(
    request: Request, response: Response, base: str, value: str, max_age: int | None = None
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=console_settings(request).console_cookie_secure,
    )


def clear_cookie(request: Request, response: Response, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        httponly=True,
        samesite="strict",
        secure=console_settings(request).console_cookie_secure,
    )


def language(request: Request) -> Lang:
    value = request.cookies.get(LANG_COOKIE)
    return value if value in LANGUAGES else "nb"  # type: ignore[return-value]


def now() -> datetime:
    return datetime.now(UTC)


async def current_session(request: Request, *, touch: bool = True) -> sessions.Session | None:
    token = request.cookies.get(cookie_name(request, "dsr_console"))
    if not token or len(token) > 100:
        return None
    settings = console_settings(request)
    async with runtime_pool(request).acquire() as conn:
        return await sessions.resume(
            conn,
            token,
            now=now(),
            idle=timedelta(seconds=settings.console_session_idle_seconds),
            lifetime=timedelta(seconds=settings.console_session_lifetime_seconds),
            touch=touch,
        )


def signed_in(action: Action, *, touch: bool = True) -> Callable[[Request], Awaitable[sessions.Session]]:
    """A dependency: the live session, of a role the authority table gives `action`; else sign-in
    (none) or 403 (a role without it). No console role acts on a request's "own" reach only."""

    async def check(request: Request) -> sessions.Session:
        session = await current_session(request, touch=touch)
        if session is None:
            raise SignInRequired()
        if reach(session.role.value, action) is None:
            raise Forbidden()
        request.state.session = session
        return session

    check.authority = action  # type: ignore[attr-defined]  # read by `services.authority.route_action`
    return check


def may(session: sessions.Session, action: Action) -> bool:
    """Whether the signed-in person may take `action` (what a page offers follows the same table)."""
    return reach(session.role.value, action) is not None


def guard(action: Action, *, touch: bool = True) -> Any:
    """`signed_in(action)` as a route dependency."""
    return Depends(signed_in(action, touch=touch))


async def read_form(request: Request, session: sessions.Session | None) -> dict[str, list[str]]:
    """The URL-encoded form, after its CSRF token is checked against the session (or the
    pre-session cookie, for the sign-in form)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    try:
        form = parse_qs(body, keep_blank_values=True, max_num_fields=200)
    except ValueError:  # more fields than any console form has
        raise CsrfRefused() from None
    presented = (form.get("csrf") or [""])[0]
    secret = session.token if session else request.cookies.get(cookie_name(request, "dsr_console_pre"))
    if not secret or not sessions.csrf_valid(secret, presented):
        raise CsrfRefused()
    return form


def pre_session_secret(request: Request) -> tuple[str, bool]:
    """The sign-in form's CSRF secret (a cookie of its own), and whether it is new."""
    existing = request.cookies.get(cookie_name(request, "dsr_console_pre"))
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(32), True


def in_language(value: Any, language: str) -> str:
    """A catalogue text as a plan or task keeps it (`{nb, en}`; a plain string if it was kept
    before the catalogue was bilingual) in `language`: the case's request language, so that the
    agent sees what the subject is told."""
    if isinstance(value, Mapping):
        return str(value.get(language) or value.get("en") or "")
    return "" if value is None else str(value)


@cache
def _env() -> Any:
    env = environment("services.console")
    env.filters["in_language"] = in_language
    return env


def render(
    request: Request,
    template: str,
    *,
    title: str,
    session: sessions.Session | None,
    status_code: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = language(request)
    html = (
        _env()
        .get_template(template)
        .render(
            t=translator(lang),
            lang=lang,
            title=title,
            session=session,
            csrf=csrf if csrf is not None else (session.csrf if session else ""),
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _sign_in_required(request: Request, _exc: Exception) -> Response:
    if request.method == "GET":
        return redirect(
            "/console/sign-in?next=sla" if request.url.path.startswith("/sla") else "/console/sign-in"
        )
    t = translator(language(request))
    return render(
        request, "message.html", title=t("sign_in"), session=None, status_code=401, message="session_ended"
    )


async def _forbidden(request: Request, _exc: Exception) -> Response:
    t = translator(language(request))
    return render(
        request, "message.html", title=t("forbidden"), session=None, status_code=403, message="forbidden"
    )


async def _csrf(request: Request, _exc: Exception) -> Response:
    t = translator(language(request))
    return render(
        request, "message.html", title=t("forbidden"), session=None, status_code=403, message="csrf_failed"
    )


def install(app: FastAPI) -> None:
    """Called from the intake app's `configure`: headers and the console's error pages."""
    app.add_middleware(SecurityHeaders, hsts=ConsoleSettings().console_cookie_secure)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf)


Staff = Annotated[sessions.Session, guard(Action.view_case)]
"""The case file's pages: customer service, and the DPO (who may do everything an agent may)."""


def today() -> date:
    return datetime.now(OSLO).date()


def at_risk_days(request: Request) -> int:
    return int(request.app.state.settings.at_risk_days)
