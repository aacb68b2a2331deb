"""The public pages, served by the API process without a key: the request form, the receipt,
email confirmation, status and the download page. Server-rendered, no script, one stylesheet.

Forms are parsed from the raw body (urlencoded), so no multipart library is needed. Every page
carries a strict Content-Security-Policy; nothing is loaded from a third party.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from schemas.requests import RequestStatus, RequestType
from services.api.web import artifact_store, runtime_pool
from services.artifacts.sealing import ConfiguredKeys
from services.documents.templates import environment
from services.intake import admission
from services.intake.domain.assurance import REQUIRED, Assurance
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.domain.submission import normalise_subject
from services.intake.errors import Conflict
from services.locator.scope import EMAIL_DIRECT
from services.public import form as forms
from services.public import limits
from services.public.settings import PublicSettings
from services.public.texts import ERRORS, LANGUAGES, RIGHTS, STATUS, T
from services.public.tokens import LinkRefused, check_status_secret, peek_verification
from services.public.verification import confirm

router = APIRouter(tags=["public pages"])
ACTOR = "public-web-form"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
FORM_FIELDS: dict[str, Any] = {
    "type": {"type": "string", "enum": [t.value for t in RequestType]},
    **{name: {"type": "string", "maxLength": 300} for name in forms.IDENTIFIER_FIELDS},
    "name": {"type": "string"},
    "language": {"type": "string", "enum": ["nb", "en"]},
    "reply_by": {"type": "string", "enum": ["", "email", "post"]},
    "postal_address": {"type": "string"},
    "notes": {"type": "string"},
    "corrections": {"type": "string"},
    "objection_grounds": {"type": "string"},
    "website": {"type": "string", "maxLength": 0},
    "lang": {"type": "string", "enum": ["nb", "en"]},
}


def _form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The OpenAPI description of a form body (parsed by hand, so FastAPI cannot infer it)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": properties, "required": required}
                }
            },
        }
    }


def _settings(request: Request) -> PublicSettings:
    state = request.app.state
    if getattr(state, "notice_settings", None) is None:
        state.notice_settings = PublicSettings()
    return state.notice_settings  # type: ignore[no-any-return]


def _lang(value: str | None) -> str:
    return value if value in LANGUAGES else "nb"


def _page(request: Request, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = (
        environment("services.public")
        .get_template(name)
        .render(
            lang=lang,
            t=T[lang],
            other=("en" if lang == "nb" else "nb"),
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


async def _fields(request: Request, *, refuse_controls: bool = True) -> dict[str, list[str]]:
    """The urlencoded form. A control character is refused (400, naming the field), never
    stripped; the request form words it per field instead (`refuse_controls=False`)."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the form must be UTF-8") from None
    try:
        fields = parse_qs(text, keep_blank_values=True, max_num_fields=50)
    except ValueError:  # more fields than any of these forms has
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "too many form fields") from None
    if refuse_controls and any(
        forms.has_control("", name) or any(forms.has_control(name, v) for v in values)
        for name, values in fields.items()
    ):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "a form field holds a control character")
    return fields


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _rate_key(request: Request) -> bytes:
    """The key rate-limit buckets are hashed under: derived from the artifact key (a secret)."""
    keys = request.app.state.settings.artifact_keys
    seed = ConfiguredKeys.parse(keys).current()[1] if keys else b"dsr-public-rate-limits"
    return hashlib.sha256(b"public-rate-limit:" + seed).digest()


def _form_page(
    request: Request, lang: str, form: forms.FormInput, errors: dict[str, str], code: int
) -> HTMLResponse:
    messages = {name: ERRORS[lang].get(code_, ERRORS[lang]["invalid"]) for name, code_ in errors.items()}
    return _page(
        request,
        "request.html.j2",
        lang,
        status_code=code,
        rights=[(t.value, *RIGHTS[lang][t]) for t in RequestType],
        form=form.values,
        errors=messages,
        identifier_fields=forms.IDENTIFIER_FIELDS,
    )


def _refused(request: Request, lang: str, code: str, status_code: int, count: int = 0) -> HTMLResponse:
    return _page(
        request,
        "refused.html.j2",
        lang,
        status_code=status_code,
        reason=ERRORS[lang][code].format(count=count),
    )


@router.get("/request", response_class=HTMLResponse, summary="The request form (public, no key)")
async def request_form(
    request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> HTMLResponse:
    language = _lang(lang)
    return _form_page(request, language, forms.FormInput({"language": language}), {}, 200)


@router.post(
    "/request",
    response_class=HTMLResponse,
    summary="Submit the request form (channel web_form)",
    openapi_extra=_form_body(FORM_FIELDS, ["type"]),
    responses={
        400: {"description": "refused"},
        422: {"description": "errors"},
        429: {"description": "rate limited"},
    },
)
async def submit_form(request: Request) -> HTMLResponse:
    settings, notice = request.app.state.settings, _settings(request)
    pool = runtime_pool(request)
    form = forms.FormInput.from_fields(await _fields(request, refuse_controls=False))
    lang = _lang(form.get("lang") or form.get("language"))
    key = _rate_key(request)
    async with pool.acquire() as conn, conn.transaction():
        allowed = await limits.hit(
            conn,
            limits.bucket(key, "address", _client(request)),
            limit=notice.public_rate_per_address,
            window=timedelta(minutes=1),
        )
    if not allowed:
        return _refused(request, lang, "rate_address", status.HTTP_429_TOO_MANY_REQUESTS)
    if form.honeypot_filled:
        return _refused(request, lang, "honeypot", status.HTTP_400_BAD_REQUEST)
    submission, errors = forms.to_submission(form)
    if submission is None:
        return _form_page(request, lang, form, errors, 422)
    try:
        identifiers = normalise_subject(submission, accept_synthetic=settings.accept_synthetic_ids)
        async with pool.acquire() as conn, conn.transaction():
            refusal = await limits.check_identifiers(
                conn,
                key,
                identifiers,
                per_hour=notice.public_rate_per_identifier,
                max_open=notice.public_max_open_per_identifier,
            )
            if refusal is not None:
                return _refused(request, lang, refusal.code, status.HTTP_429_TOO_MANY_REQUESTS, refusal.count)
            result = await admission.submit(
                conn, submission, actor=ACTOR, accept_synthetic=settings.accept_synthetic_ids
            )
    except InvalidIdentifier as exc:
        return _form_page(
            request,
            lang,
            form,
            {forms.field_of(exc.field): exc.reason_code},
            422,
        )
    waits = result.view.status == RequestStatus.awaiting_verification
    return _page(
        request,
        "receipt.html.j2",
        lang,
        duplicate=result.duplicate_of is not None,
        reference=result.view.reference,
        due_date=datetime.fromisoformat(result.view.due_date).date(),
        waits=waits,
        has_email=identifiers.email is not None,
        limited=REQUIRED[submission.type] > Assurance.low,
        link_days=int(notice.email_link_days),
    )


@router.get("/verify/{token}", response_class=HTMLResponse, summary="Confirm an email address: the page")
async def verify_page(
    request: Request,
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    lang: Annotated[str | None, Query(max_length=5)] = None,
) -> HTMLResponse:
    """Shows a button rather than confirming on GET: mail scanners open links too."""
    language = _lang(lang)
    async with runtime_pool(request).acquire() as conn:
        found = await peek_verification(conn, token, now=datetime.now(UTC))
    if isinstance(found, LinkRefused):
        message = T[language]["verify_gone" if found is LinkRefused.spent else "verify_unknown"]
        return _page(
            request,
            "message.html.j2",
            language,
            status.HTTP_410_GONE if found is LinkRefused.spent else 404,
            title=T[language]["verify_title"],
            message=message,
        )
    return _page(request, "verify.html.j2", language, token=token)


@router.post(
    "/verify/{token}",
    response_class=HTMLResponse,
    summary="Confirm an email address",
    openapi_extra=_form_body({"lang": {"type": "string", "enum": ["nb", "en"]}}, []),
)
async def verify(
    request: Request, token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]
) -> HTMLResponse:
    fields = await _fields(request)
    language = _lang((fields.get("lang") or [""])[0])
    try:
        async with runtime_pool(request).acquire() as conn, conn.transaction():
            confirmed = await confirm(conn, token, now=datetime.now(UTC))
            scope = None
            if not isinstance(confirmed, LinkRefused):
                scope = await conn.fetchval(
                    "select identity_scope from requests where id = $1", uuid.UUID(confirmed.id)
                )
    except Conflict:
        return _page(
            request,
            "message.html.j2",
            language,
            status.HTTP_409_CONFLICT,
            title=T[language]["verify_title"],
            message=T[language]["verify_closed"],
        )
    if isinstance(confirmed, LinkRefused):
        gone = confirmed is LinkRefused.spent
        return _page(
            request,
            "message.html.j2",
            language,
            410 if gone else 404,
            title=T[language]["verify_title"],
            message=T[language]["verify_gone" if gone else "verify_unknown"],
        )
    return _page(
        request, "verified.html.j2", language, reference=confirmed.reference, limited=scope == EMAIL_DIRECT
    )


@router.get("/status", response_class=HTMLResponse, summary="The status page's form")
async def status_form(
    request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> HTMLResponse:
    return _page(request, "status.html.j2", _lang(lang), found=None, error=None, reference="")


@router.post(
    "/status",
    response_class=HTMLResponse,
    summary="A request's status, for its reference and the secret from the email",
    openapi_extra=_form_body(
        {
            "reference": {"type": "string", "maxLength": 40},
            "secret": {"type": "string", "maxLength": 40},
            "lang": {"type": "string", "enum": ["nb", "en"]},
        },
        ["reference", "secret"],
    ),
    responses={404: {"description": "no match"}, 429: {"description": "rate limited"}},
)
async def status_page(request: Request) -> HTMLResponse:
    fields = await _fields(request)
    language = _lang((fields.get("lang") or [""])[0])
    reference = (fields.get("reference") or [""])[0].strip()[:40]
    secret = (fields.get("secret") or [""])[0].strip()[:40]
    pool = runtime_pool(request)
    async with pool.acquire() as conn, conn.transaction():
        allowed = await limits.hit(
            conn,
            limits.bucket(_rate_key(request), "status", _client(request)),
            limit=_settings(request).public_rate_per_address,
            window=timedelta(minutes=1),
        )
    if not allowed:
        return _refused(request, language, "rate_status", status.HTTP_429_TOO_MANY_REQUESTS)
    async with pool.acquire() as conn, conn.transaction():
        request_id = await check_status_secret(conn, reference, secret) if reference and secret else None
        if request_id is None:
            return _page(
                request,
                "status.html.j2",
                language,
                404,
                found=None,
                error=T[language]["status_not_found"],
                reference=reference,
            )
        row = await conn.fetchrow(
            "select reference, status, due_date, extended, extension_reason from requests where id = $1",
            request_id,
        )
        links = []
        if row["status"] == RequestStatus.completed:
            store = artifact_store(request)
            days = request.app.state.settings.download_link_days
            for artifact in await store.listing(conn, request_id):
                token = await store.issue_link(
                    conn,
                    artifact["id"],
                    issued_to="subject",
                    valid_for=timedelta(days=days),
                    now=datetime.now(UTC),
                )
                links.append(f"/download/{token}?lang={language}")
    found = {
        "reference": row["reference"],
        "status": STATUS[language][RequestStatus(row["status"])],
        "due_date": row["due_date"],
        "extended": row["extended"],
        "extension_reason": row["extension_reason"],
        "links": links,
    }
    return _page(request, "status.html.j2", language, found=found, error=None, reference=reference)


@router.get("/download/{token}", response_class=HTMLResponse, summary="The page of a one-time download link")
async def download_page(
    request: Request,
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    lang: Annotated[str | None, Query(max_length=5)] = None,
) -> HTMLResponse:
    """Explains, then links to the file: opening this page does not spend the link."""
    language = _lang(lang)
    async with runtime_pool(request).acquire() as conn:
        live = await conn.fetchval(
            """select true from download_tokens t join artifacts a on a.id = t.artifact_id
               where t.token_hash = $1 and t.used_at is null and t.expires_at > now() and a.sealed is not null""",
            hashlib.sha256(token.encode()).digest(),
        )
    if not live:
        return _page(
            request,
            "message.html.j2",
            language,
            status.HTTP_410_GONE,
            title=T[language]["download_title"],
            message=T[language]["download_gone"],
        )
    return _page(
        request, "download.html.j2", language, file_url=str(request.url_for("download", token=token))
    )


@router.get("/public/static/public.css", include_in_schema=False)
async def stylesheet() -> Response:
    css = resources.files("services.public").joinpath("static", "public.css").read_bytes()
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get(
    "/demo/mail", response_class=HTMLResponse, summary="Demo only: the mail the local SMTP sink caught"
)
async def demo_mail(
    request: Request, lang: Annotated[str | None, Query(max_length=5)] = None
) -> HTMLResponse:
    folder = _settings(request).demo_mail_dir
    if not request.app.state.settings.demo or folder is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    mails = []
    for file in sorted(folder.glob("*.eml"), reverse=True)[:100]:
        parsed = BytesParser(policy=policy.default).parsebytes(file.read_bytes())
        body = parsed.get_body(preferencelist=("plain",))
        mails.append(
            {
                "to": str(parsed["To"]),
                "subject": str(parsed["Subject"]),
                "date": str(parsed["Date"]),
                "body": body.get_content() if body is not None else "",
            }
        )
    return _page(request, "mail.html.j2", _lang(lang), mails=mails)
