"""`/docs`, `/redoc`, `/asyncapi` and `/asyncapi.yaml`, with every asset served by this process.

Swagger UI's and ReDoc's bundles are the ones the `fastapi-offline` package ships (its `static/`
folder: read as package data, its FastAPI factory is not used); the script that starts Swagger UI
is a file of ours, so no page has an inline script. Each page has its own Content-Security-Policy:

- `/docs` and `/asyncapi` keep the console's rules (scripts and styles from 'self' only);
- `/redoc` also allows inline styles ('unsafe-inline' in `style-src`): ReDoc styles itself with
  styled-components, which inserts `<style>` elements at run time, and its `nonce` option does not
  reach them in the standalone bundle (2.5: the elements come without the nonce and ReDoc fails
  to start). It also runs its search in a worker made from a `blob:` URL (`worker-src blob:`).
  Scripts there are still 'self' only, so an injected script cannot run.

The AsyncAPI page is rendered here from `schemas/generated/asyncapi.yaml` (no script at all).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import yaml
from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from services.documents.templates import environment

ASSETS = "/docs/assets"
_VENDOR_PACKAGE = "fastapi_offline"
_VENDOR = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
_OWN = ("swagger-init.js", "redoc-init.js", "apidocs.css")
_MEDIA = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}

_STRICT = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'"
_TAIL = "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
DOCS_CSP = f"{_STRICT}; {_TAIL}"
"""Swagger UI: its CSS has `data:` SVG icons; "Try it out" calls this origin."""
REDOC_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    f"connect-src 'self'; worker-src blob:; {_TAIL}"
)
"""ReDoc: its search index runs in a worker it makes from a `blob:` URL; styles in `<style>` elements it makes at run time (see above); its sidebar's Redocly logo
points at the vendor's CDN, which `img-src` refuses, so the browser never asks for it."""
ASYNCAPI_CSP = f"default-src 'none'; style-src 'self'; img-src 'self'; {_TAIL}"

router = APIRouter(include_in_schema=False)
"""Swagger UI, ReDoc and their assets: on every service's app (each has an OpenAPI document)."""
asyncapi_router = APIRouter(include_in_schema=False)
"""The event contract's pages: on the public API."""


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def asset(name: str) -> Asset | None:
    if name in _VENDOR:
        source = resources.files(_VENDOR_PACKAGE).joinpath("static", name)
    elif name in _OWN:
        source = resources.files("services.apidocs").joinpath("static", name)
    else:
        return None
    body = source.read_bytes()
    media = _MEDIA[name[name.rindex(".") :]]
    return Asset(body, media, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _headers(csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-cache",
    }


@cache
def _env() -> jinja2.Environment:
    env = environment("services.apidocs")
    env.filters["prose"] = prose
    return env


def _page(request: Request, template: str, csp: str, current: str, **context: Any) -> HTMLResponse:
    root = str(request.scope.get("root_path") or "").rstrip("/")
    html = (
        _env()
        .get_template(template)
        .render(
            title=request.app.title,
            root=root,
            assets=root + ASSETS,
            openapi_url=request.app.openapi_url or "",
            current=current,
            **context,
        )
    )
    return HTMLResponse(html, headers=_headers(csp))


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    if not request.app.openapi_url:
        raise HTTPException(404)
    return _page(request, "swagger.html.j2", DOCS_CSP, "docs")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    if not request.app.openapi_url:
        raise HTTPException(404)
    return _page(request, "redoc.html.j2", REDOC_CSP, "redoc")


@router.get(ASSETS + "/{name}")
async def docs_asset(name: str, request: Request) -> Response:
    found = asset(name)
    if found is None:
        raise HTTPException(404)
    headers = {
        "ETag": found.etag,
        "Cache-Control": "public, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


# --- the AsyncAPI document -----------------------------------------------------------------------


@cache
def asyncapi_text() -> str:
    return resources.files("schemas").joinpath("generated", "asyncapi.yaml").read_text("utf-8")


@dataclass
class Row:
    name: str
    type: Markup
    required: bool
    description: str


@dataclass
class Schema:
    type: str
    description: str
    rows: list[Row]


@dataclass
class Message:
    id: str
    name: str
    description: str
    key: str
    correlation: str
    envelope: list[Row]
    payload: str | None


@dataclass
class Operation:
    action: str
    summary: str


@dataclass
class Channel:
    id: str
    address: str
    summary: str
    description: str
    kafka: list[tuple[str, str]]
    messages: list[Message] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)


@dataclass
class Document:
    asyncapi: str
    title: str
    version: str
    description: str
    license: str
    content_type: str
    servers: list[dict[str, str]]
    channels: list[Channel]
    schemas: dict[str, Schema]


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> Markup:
    """A schema's type in a few words, a reference as a link to the schema's section."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return Markup('<a href="#schema-{0}"><code>{0}</code></a>').format(name)
    if "const" in schema:
        return Markup("<code>{}</code>").format(json.dumps(schema["const"]))
    if "enum" in schema:
        return Markup(" | ").join(Markup("<code>{}</code>").format(json.dumps(v)) for v in schema["enum"])
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            joiner = Markup(" &amp; ") if combined == "allOf" else Markup(" | ")
            return joiner.join(type_of(part) for part in schema[combined])
    kind = schema.get("type", "any")
    if kind == "array" and isinstance(schema.get("items"), dict):
        return Markup("array of {}").format(type_of(schema["items"]))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return Markup("object of {}").format(type_of(schema["additionalProperties"]))
    text = " | ".join(kind) if isinstance(kind, list) else str(kind)
    return Markup("{} ({})").format(text, schema["format"]) if "format" in schema else Markup(escape(text))


def _rows(schema: dict[str, Any]) -> list[Row]:
    required = set(schema.get("required", ()))
    return [
        Row(name, type_of(prop), name in required, str(prop.get("description", "")))
        for name, prop in (schema.get("properties") or {}).items()
    ]


def _message(message_id: str, message: dict[str, Any]) -> Message:
    envelope = message.get("payload") or {}
    inner = (envelope.get("properties") or {}).get("payload") or {}
    key = ((message.get("bindings") or {}).get("kafka") or {}).get("key") or {}
    return Message(
        id=message_id,
        name=str(message.get("name", message_id)),
        description=str(message.get("description") or message.get("summary") or ""),
        key=str(key.get("description", "")),
        correlation=str((message.get("correlationId") or {}).get("location", "")),
        envelope=_rows(envelope),
        payload=_ref_name(inner["$ref"]) if "$ref" in inner else None,
    )


def _kafka(channel: dict[str, Any]) -> list[tuple[str, str]]:
    binding = (channel.get("bindings") or {}).get("kafka") or {}
    facts = [("partitions", str(binding["partitions"]))] if "partitions" in binding else []
    for name, value in (binding.get("topicConfiguration") or {}).items():
        facts.append((name, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return facts


def asyncapi_document(text: str) -> Document:
    """The view of an AsyncAPI 3 document the page shows: servers, channels with their messages and
    operations, and the component schemas."""
    doc = yaml.safe_load(text)
    components = doc.get("components") or {}
    messages = components.get("messages") or {}
    info = doc.get("info") or {}
    channels: list[Channel] = []
    by_ref: dict[str, Channel] = {}
    for channel_id, raw in (doc.get("channels") or {}).items():
        channel = Channel(
            id=channel_id,
            address=str(raw.get("address", channel_id)),
            summary=str(raw.get("summary", "")),
            description=str(raw.get("description", "")),
            kafka=_kafka(raw),
        )
        for message_id, ref in (raw.get("messages") or {}).items():
            resolved = messages.get(_ref_name(ref["$ref"])) if "$ref" in ref else ref
            channel.messages.append(_message(message_id, resolved or {}))
        channels.append(channel)
        by_ref[f"#/channels/{channel_id}"] = channel
    for operation in (doc.get("operations") or {}).values():
        target = by_ref.get((operation.get("channel") or {}).get("$ref", ""))
        if target is not None:
            target.operations.append(Operation(str(operation["action"]), str(operation.get("summary", ""))))
    return Document(
        asyncapi=str(doc.get("asyncapi", "")),
        title=str(info.get("title", "AsyncAPI")),
        version=str(info.get("version", "")),
        description=str(info.get("description", "")),
        license=str((info.get("license") or {}).get("name", "")),
        content_type=str(doc.get("defaultContentType", "")),
        servers=[
            {
                "name": name,
                "host": str(s.get("host", "")),
                "protocol": str(s.get("protocol", "")),
                "description": str(s.get("description", "")),
            }
            for name, s in (doc.get("servers") or {}).items()
        ],
        channels=channels,
        schemas={
            name: Schema(str(s.get("type", "")), str(s.get("description", "")), _rows(s))
            for name, s in (components.get("schemas") or {}).items()
        },
    )


_CODE = re.compile(r"`([^`]+)`")


def prose(text: str) -> Markup:
    """Plain text as paragraphs, `backticks` as code: escaped first, so nothing else is markup."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup(_CODE.sub(r"<code>\1</code>", str(escape(p))))) for p in paragraphs
    )


@cache
def _asyncapi_view() -> Document:
    return asyncapi_document(asyncapi_text())


@asyncapi_router.get("/asyncapi")
async def asyncapi_page(request: Request) -> HTMLResponse:
    return _page(request, "asyncapi.html.j2", ASYNCAPI_CSP, "asyncapi", doc=_asyncapi_view())


@asyncapi_router.get("/asyncapi.yaml")
async def asyncapi_yaml() -> Response:
    return Response(
        asyncapi_text(),
        media_type="application/yaml; charset=utf-8",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
