"""A demo newsletter SaaS: the marketing system's data behind a JSON API shaped like a real
newsletter product's (Mailchimp, Brevo, rapidmail), for the declarative HTTP engine to talk to
(`catalogue/examples/newsletter_saas.yaml` describes it).

- `GET /v1/subscribers?email=..&email=..&page=..&per_page=..`: `{"data": [...], "meta":
  {"page", "per_page", "total", "next_page"}}`; `GET/PATCH/DELETE /v1/subscribers/{id}`;
  `PUT /v1/subscribers/{id}/restriction` with `{"restricted": true}`.
- `GET /v1/events/signups?email=..|phone=..&cursor=..&limit=..`: `meta.next_cursor`.
- `GET /v1/downloads?email=..&offset=..&limit=..`: `{"data": {"items": [...], "total": n}}`.
- `GET /v1/surveys/responses?email=..&page=..&per_page=..`: a bare JSON list, the next page in a
  `Link: <...>; rel="next"` header.
- Each record type: `GET`, `PATCH` (a partial record, nested objects merged; null empties a field)
  and `DELETE` (204; 404 when there is no such record) by id. `GET /v1/ping` answers `{"ok": true}`.
- `GET /v1/openapi.json`: the API's OpenAPI 3.1 document (`openapi_document`), built from the
  record types below, as a SaaS product publishes one (`dsr catalogue scaffold --openapi` reads it).

Every request needs `Authorization: Bearer <token>` (401 without); over the rate limit the answer
is 429 with `Retry-After`. The data is an SQLite file (it survives restarts); `load_rows` fills it
with rows shaped like the marketing system's tables (`services/demo/tables.py`).

    python -m services.demo.newsletter_api --port 8600 --data newsletter.sqlite3 --token-env NEWSLETTER_TOKEN

The token is read from the environment variable named by `--token-env`, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hmac
import json
import logging
import math
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from services.demo.tables import (
    DOWNLOADS,
    EVENT_SIGNUPS,
    NEWSLETTER_SUBSCRIPTIONS,
    SURVEY_RESPONSES,
    TableSpec,
)

log = logging.getLogger(__name__)

MAX_PAGE = 100
"""The most records a page holds, whatever the client asks for (as real APIs cap it)."""


@dataclass(frozen=True)
class Kind:
    """One record type: its table, the API's field for each column, and the column's type."""

    spec: TableSpec
    path: str
    fields: dict[str, str]
    """column -> the record's field (dotted for a nested one)."""
    types: dict[str, str]
    """column -> text | integer | boolean | timestamp."""
    filters: tuple[str, ...]
    """Query parameters that filter by a column of the same name (repeatable)."""

    @property
    def table(self) -> str:
        return self.spec.name


def _types(spec: TableSpec, **special: str) -> dict[str, str]:
    return {column: special.get(column, "text") for column in spec.columns}


SUBSCRIBERS = Kind(
    NEWSLETTER_SUBSCRIPTIONS,
    "subscribers",
    {
        "id": "id",
        "email": "email",
        "name": "name",
        "newsletter": "list.name",
        "subscribed_at": "consent.given_at",
        "consent_text": "consent.text",
        "unsubscribed_at": "unsubscribed_at",
        "restricted": "restricted",
    },
    _types(
        NEWSLETTER_SUBSCRIPTIONS,
        id="integer",
        subscribed_at="timestamp",
        unsubscribed_at="timestamp",
        restricted="boolean",
    ),
    ("email",),
)
SIGNUPS = Kind(
    EVENT_SIGNUPS,
    "events/signups",
    {
        "id": "id",
        "event": "event.title",
        "email": "attendee.email",
        "name": "attendee.name",
        "phone": "attendee.phone",
        "organisation": "attendee.organisation",
        "signed_up_at": "signed_up_at",
        "attended": "attended",
        "restricted": "restricted",
    },
    _types(EVENT_SIGNUPS, id="integer", signed_up_at="timestamp", attended="boolean", restricted="boolean"),
    ("email", "phone"),
)
DOWNLOAD_KIND = Kind(
    DOWNLOADS,
    "downloads",
    {column: column for column in DOWNLOADS.columns},
    _types(DOWNLOADS, id="integer", downloaded_at="timestamp", restricted="boolean"),
    ("email",),
)
RESPONSES = Kind(
    SURVEY_RESPONSES,
    "surveys/responses",
    {column: column for column in SURVEY_RESPONSES.columns},
    _types(SURVEY_RESPONSES, id="integer", responded_at="timestamp", restricted="boolean"),
    ("email",),
)
KINDS: dict[str, Kind] = {kind.table: kind for kind in (SUBSCRIBERS, SIGNUPS, DOWNLOAD_KIND, RESPONSES)}

Rows = Iterable[Sequence[object] | Mapping[str, object]]
"""Rows of one table: tuples in the table's column order, or column -> value mappings."""
TableRows = Mapping[str, Rows] | Mapping[TableSpec, Rows] | Mapping[str | TableSpec, Rows]
"""Rows by table name or by the generator's `TableSpec`."""

_SQL_TYPES = {"integer": "integer", "text": "text", "boolean": "integer", "timestamp": "text"}


class BadInput(ValueError):
    """A request body the API refuses (422); the message names the field, never its value."""


# ------------------------------------------------------------------------------------------ store


class NewsletterStore:
    """The API's own data: an SQLite file, one table per record type (the marketing tables)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("pragma journal_mode = wal")
        for kind in KINDS.values():
            columns = ", ".join(
                f"{column} {_SQL_TYPES[kind.types[column]]}{' primary key' if column == 'id' else ''}"
                for column in kind.spec.columns
            )
            self._db.execute(f"create table if not exists {kind.table} ({columns})")
            for column in kind.filters:
                self._db.execute(
                    f"create index if not exists {kind.table}_{column} on {kind.table} ({column})"
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def load(
        self,
        rows: TableRows,
        *,
        replace: bool,
    ) -> dict[str, int]:
        """Insert rows (tuples in the table's column order, or column -> value mappings) per table;
        `replace` empties every table first. Tables of other systems are skipped. Rows per table."""
        counts: dict[str, int] = {}
        with self._lock:
            self._db.execute("begin")
            try:
                if replace:
                    for kind in KINDS.values():
                        self._db.execute(f"delete from {kind.table}")
                for key, table_rows in rows.items():
                    if isinstance(key, TableSpec) and key.system != "marketing":
                        continue
                    name = key.name if isinstance(key, TableSpec) else key
                    if name not in KINDS:
                        raise KeyError(f"the newsletter API holds no table {name!r}")
                    kind = KINDS[name]
                    columns = kind.spec.columns
                    values = [
                        tuple(
                            _stored(row.get(c) if isinstance(row, Mapping) else row[i], kind.types[c])
                            for i, c in enumerate(columns)
                        )
                        for row in table_rows
                    ]
                    self._db.executemany(
                        f"insert or replace into {kind.table} ({', '.join(columns)}) "
                        f"values ({', '.join('?' for _ in columns)})",
                        values,
                    )
                    counts[name] = counts.get(name, 0) + len(values)
                self._db.execute("commit")
            except BaseException:
                self._db.execute("rollback")
                raise
        return counts

    def find(
        self, kind: Kind, filters: Mapping[str, Sequence[str]], *, after: int = 0, offset: int = 0, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows matching every filter (any of its values), by id; and how many match in all."""
        where = ["id > ?"]
        arguments: list[object] = [after]
        for column, values in filters.items():
            if values:
                where.append(f"{column} in ({', '.join('?' for _ in values)})")
                arguments += list(values)
        condition = " and ".join(where)
        with self._lock:
            total = self._db.execute(
                f"select count(*) from {kind.table} where {condition}", arguments
            ).fetchone()[0]
            cursor = self._db.execute(
                f"select * from {kind.table} where {condition} order by id limit ? offset ?",
                [*arguments, limit, offset],
            )
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, record, strict=True)) for record in cursor.fetchall()]
        return rows, int(total)

    def get(self, kind: Kind, record_id: int) -> dict[str, Any] | None:
        with self._lock:
            cursor = self._db.execute(f"select * from {kind.table} where id = ?", (record_id,))
            record = cursor.fetchone()
            names = [d[0] for d in cursor.description]
        return dict(zip(names, record, strict=True)) if record is not None else None

    def update(self, kind: Kind, record_id: int, values: Mapping[str, object]) -> dict[str, Any] | None:
        if values:
            sets = ", ".join(f"{column} = ?" for column in values)
            with self._lock:
                self._db.execute(
                    f"update {kind.table} set {sets} where id = ?",
                    [*(_stored(v, kind.types[c]) for c, v in values.items()), record_id],
                )
        return self.get(kind, record_id)

    def delete(self, kind: Kind, record_id: int) -> bool:
        with self._lock:
            return self._db.execute(f"delete from {kind.table} where id = ?", (record_id,)).rowcount > 0

    def rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a table as stored (booleans as 0/1, times as ISO 8601 text), by id."""
        kind = KINDS[table]
        return self.find(kind, {}, limit=-1)[0]


def load_rows(
    data_file: str | Path,
    rows: TableRows,
    *,
    replace: bool = True,
) -> dict[str, int]:
    """Fill the API's data file with marketing rows (what the demo loader calls): keys are table
    names or the generator's `TableSpec`s (other systems' tables are skipped)."""
    store = NewsletterStore(data_file)
    try:
        return store.load(rows, replace=replace)
    finally:
        store.close()


def _stored(value: object, kind: str) -> object:
    if value is None:
        return None
    if kind == "boolean":
        return int(bool(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------- records


def to_record(kind: Kind, row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the API shows it (nested objects where the field is dotted)."""
    record: dict[str, Any] = {}
    for column, field in kind.fields.items():
        value = row[column]
        if kind.types[column] == "boolean" and value is not None:
            value = bool(value)
        *parents, last = field.split(".")
        node = record
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return record


def from_patch(kind: Kind, body: object) -> dict[str, object]:
    """A partial record (nested objects merged) as column -> value; refuses unknown or read-only
    fields and values of the wrong type."""
    if not isinstance(body, dict):
        raise BadInput("the body is a JSON object (a partial record)")
    by_field = {field: column for column, field in kind.fields.items()}
    values: dict[str, object] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            field = f"{prefix}{key}"
            if field not in by_field and isinstance(value, dict):
                walk(f"{field}.", value)
                continue
            column = by_field.get(field)
            if column is None:
                raise BadInput(f"unknown field {field!r}")
            if column == "id":
                raise BadInput("the id cannot be changed")
            values[column] = _checked(value, kind.types[column], field)

    walk("", body)
    return values


def _checked(value: object, kind: str, field: str) -> object:
    if value is None:
        return None
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "timestamp" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise BadInput(f"field {field!r} is an ISO 8601 time") from None
        if moment.tzinfo is None:
            raise BadInput(f"field {field!r} needs its time zone")
        return value
    raise BadInput(f"field {field!r} has the wrong type")


# ---------------------------------------------------------------------------------------- openapi

_JSON_TYPES: dict[str, dict[str, Any]] = {
    "integer": {"type": "integer", "format": "int64"},
    "text": {"type": "string"},
    "boolean": {"type": "boolean"},
    "timestamp": {"type": "string", "format": "date-time"},
}
_LISTINGS: dict[str, dict[str, Any]] = {
    "newsletter_subscriptions": {"page": "page", "size": "per_page", "repeatable": True},
    "event_signups": {"page": "cursor", "size": "limit", "repeatable": False},
    "downloads": {"page": "offset", "size": "limit", "repeatable": True},
    "survey_responses": {"page": "page", "size": "per_page", "repeatable": True, "link": True},
}
"""How each collection pages, as the routes in `create_app` do it."""


def _record_schema(kind: Kind) -> dict[str, Any]:
    """A record as `to_record` shapes it: dotted fields become nested objects."""
    root: dict[str, Any] = {"type": "object", "properties": {}, "required": ["id"]}
    for column, field in kind.fields.items():
        *parents, last = field.split(".")
        node = root
        for part in parents:
            node = node["properties"].setdefault(part, {"type": "object", "properties": {}})
        schema = dict(_JSON_TYPES[kind.types[column]])
        if column == "email" or last == "email":
            schema["format"] = "email"
        if column != "id":
            schema["type"] = [schema["type"], "null"]
        node["properties"][last] = schema
    return root


def _schema_name(kind: Kind) -> str:
    return "".join(part.capitalize() for part in kind.table.split("_"))


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document: every route `create_app` serves, its parameters, answers and
    record schemas (from `KINDS`, so the document and the API cannot drift apart)."""
    ref = {kind.table: {"$ref": f"#/components/schemas/{_schema_name(kind)}"} for kind in KINDS.values()}
    error = {
        "description": "No such record",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    paths: dict[str, Any] = {
        "/v1/ping": {
            "get": {
                "operationId": "ping",
                "responses": {
                    "200": {
                        "description": "The API is up",
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
                            }
                        },
                    }
                },
            }
        },
    }
    for kind in KINDS.values():
        listing = _LISTINGS[kind.table]
        parameters: list[dict[str, Any]] = []
        for column in kind.filters:
            schema: dict[str, Any] = {"type": "string"}
            if listing["repeatable"]:
                schema = {"type": "array", "items": {"type": "string"}}
            parameters.append(
                {"name": column, "in": "query", "schema": schema, "style": "form", "explode": True}
            )
        paging = listing["page"]
        parameters.append(
            {"name": paging, "in": "query", "schema": {"type": "integer" if paging != "cursor" else "string"}}
        )
        parameters.append(
            {"name": listing["size"], "in": "query", "schema": {"type": "integer", "maximum": MAX_PAGE}}
        )
        items = {"type": "array", "items": ref[kind.table]}
        answer: dict[str, Any]
        headers: dict[str, Any] = {}
        if listing.get("link"):
            answer = items
            headers = {
                "Link": {"description": 'The next page: <...>; rel="next"', "schema": {"type": "string"}}
            }
        elif paging == "page":
            meta: dict[str, Any] = {name: {"type": "integer"} for name in ("page", "per_page", "total")}
            meta["next_page"] = {"type": ["integer", "null"]}
            answer = {
                "type": "object",
                "properties": {"data": items, "meta": {"type": "object", "properties": meta}},
            }
        elif paging == "cursor":
            answer = {
                "type": "object",
                "properties": {
                    "data": items,
                    "meta": {"type": "object", "properties": {"next_cursor": {"type": ["string", "null"]}}},
                },
            }
        else:
            answer = {
                "type": "object",
                "properties": {
                    "data": {"type": "object", "properties": {"items": items, "total": {"type": "integer"}}}
                },
            }
        ok: dict[str, Any] = {
            "description": "A page of records",
            "content": {"application/json": {"schema": answer}},
        }
        if headers:
            ok["headers"] = headers
        paths[f"/v1/{kind.path}"] = {
            "get": {
                "operationId": f"list_{kind.table}",
                "parameters": parameters,
                "responses": {"200": ok, "422": error},
            }
        }
        one = {
            "description": "The record",
            "content": {
                "application/json": {"schema": {"type": "object", "properties": {"data": ref[kind.table]}}}
            },
        }
        key = [{"name": "identifier", "in": "path", "required": True, "schema": {"type": "integer"}}]
        paths[f"/v1/{kind.path}/{{identifier}}"] = {
            "parameters": key,
            "get": {"operationId": f"read_{kind.table}", "responses": {"200": one, "404": error}},
            "patch": {
                "operationId": f"update_{kind.table}",
                "requestBody": {"content": {"application/json": {"schema": ref[kind.table]}}},
                "responses": {"200": one, "404": error, "422": error},
            },
            "delete": {
                "operationId": f"delete_{kind.table}",
                "responses": {"204": {"description": "Deleted"}, "404": error},
            },
        }
    paths["/v1/subscribers/{identifier}/restriction"] = {
        "put": {
            "operationId": "restrict_newsletter_subscriptions",
            "parameters": [
                {"name": "identifier", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"restricted": {"type": "boolean"}},
                            "required": ["restricted"],
                        }
                    }
                }
            },
            "responses": {
                "200": {
                    "description": "The record",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"data": ref["newsletter_subscriptions"]},
                            }
                        }
                    },
                },
                "404": error,
            },
        }
    }
    schemas: dict[str, Any] = {_schema_name(kind): _record_schema(kind) for kind in KINDS.values()}
    schemas["Error"] = {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Newsletter API (demo)", "version": "1"},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


# -------------------------------------------------------------------------------------------- app


class _Bucket:
    """A token bucket shared by every client: `rate` requests a second, `burst` at once."""

    def __init__(self, rate: float | None, burst: int | None) -> None:
        self.rate = rate
        self.capacity = float(burst or max(1, math.ceil(rate or 1)))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when a request may go ahead, else the seconds until one may."""
        if self.rate is None:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


def _error(status: int, code: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code}}, status_code=status, headers=dict(headers or {}))


def _int(value: str | None, default: int, *, low: int, high: int | None = None) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadInput("a paging parameter is a whole number") from None
    if number < low:
        raise BadInput("a paging parameter is out of range")
    return min(number, high) if high is not None else number


def _cursor(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _after(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise BadInput("the cursor is not one this API gave") from None
    if not isinstance(value, dict) or not isinstance(value.get("after"), int):
        raise BadInput("the cursor is not one this API gave")
    return int(value["after"])


def create_app(
    store: NewsletterStore, token: str, *, rate: float | None = None, burst: int | None = None
) -> FastAPI:
    """The newsletter API over `store`, for clients presenting `token`."""
    if not token:
        raise ValueError("the API needs a token to require")
    app = FastAPI(
        title="Newsletter API (demo)", docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False
    )
    bucket = _Bucket(rate, burst)
    expected = f"Bearer {token}".encode()

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Response:
        offered = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(offered, expected):
            return _error(401, "unauthorized", {"WWW-Authenticate": 'Bearer realm="newsletter"'})
        wait = bucket.take()
        if wait:
            return _error(429, "rate_limited", {"Retry-After": str(max(1, math.ceil(wait)))})
        response: Response = await call_next(request)
        return response

    @app.exception_handler(BadInput)
    async def _bad_input(request: Request, exc: BadInput) -> JSONResponse:
        return _error(422, str(exc))

    @app.get("/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    document = openapi_document()

    @app.get("/v1/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(document)

    def filters(kind: Kind, request: Request) -> dict[str, list[str]]:
        return {column: request.query_params.getlist(column) for column in kind.filters}

    def record_id(value: str) -> int | None:
        return int(value) if value.isdigit() and len(value) < 19 else None

    @app.get("/v1/subscribers")
    async def subscribers(request: Request) -> JSONResponse:
        query = request.query_params
        page = _int(query.get("page"), 1, low=1)
        per_page = _int(query.get("per_page"), 25, low=1, high=MAX_PAGE)
        rows, total = store.find(
            SUBSCRIBERS, filters(SUBSCRIBERS, request), offset=(page - 1) * per_page, limit=per_page
        )
        more = page * per_page < total
        meta = {"page": page, "per_page": per_page, "total": total, "next_page": page + 1 if more else None}
        return JSONResponse({"data": [to_record(SUBSCRIBERS, r) for r in rows], "meta": meta})

    @app.get("/v1/events/signups")
    async def signups(request: Request) -> JSONResponse:
        query = request.query_params
        limit = _int(query.get("limit"), 25, low=1, high=MAX_PAGE)
        rows, total = store.find(
            SIGNUPS, filters(SIGNUPS, request), after=_after(query.get("cursor")), limit=limit
        )
        following = _cursor(rows[-1]["id"]) if len(rows) < total else None
        return JSONResponse(
            {"data": [to_record(SIGNUPS, r) for r in rows], "meta": {"next_cursor": following}}
        )

    @app.get("/v1/downloads")
    async def downloads(request: Request) -> JSONResponse:
        query = request.query_params
        offset = _int(query.get("offset"), 0, low=0)
        limit = _int(query.get("limit"), 25, low=1, high=MAX_PAGE)
        rows, total = store.find(DOWNLOAD_KIND, filters(DOWNLOAD_KIND, request), offset=offset, limit=limit)
        items = [to_record(DOWNLOAD_KIND, r) for r in rows]
        return JSONResponse({"data": {"items": items, "total": total}})

    @app.get("/v1/surveys/responses")
    async def responses(request: Request) -> JSONResponse:
        query = request.query_params
        page = _int(query.get("page"), 1, low=1)
        per_page = _int(query.get("per_page"), 25, low=1, high=MAX_PAGE)
        found = filters(RESPONSES, request)
        rows, total = store.find(RESPONSES, found, offset=(page - 1) * per_page, limit=per_page)
        headers = {}
        if page * per_page < total:
            pairs = [(column, value) for column, values in found.items() for value in values]
            link = f"{request.url.path}?{urlencode([*pairs, ('page', page + 1), ('per_page', per_page)])}"
            headers["Link"] = f'<{link}>; rel="next"'
        return JSONResponse([to_record(RESPONSES, r) for r in rows], headers=headers)

    def routes(kind: Kind) -> None:
        async def read(identifier: str) -> JSONResponse:
            number = record_id(identifier)
            row = store.get(kind, number) if number is not None else None
            if row is None:
                return _error(404, "not_found")
            return JSONResponse({"data": to_record(kind, row)})

        async def patch(identifier: str, request: Request) -> JSONResponse:
            number = record_id(identifier)
            if number is None or store.get(kind, number) is None:
                return _error(404, "not_found")
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _error(400, "malformed_json")
            row = store.update(kind, number, from_patch(kind, body))
            if row is None:
                return _error(404, "not_found")
            return JSONResponse({"data": to_record(kind, row)})

        async def delete(identifier: str) -> Response:
            number = record_id(identifier)
            if number is None or not store.delete(kind, number):
                return _error(404, "not_found")
            return Response(status_code=204)

        path = f"/v1/{kind.path}/{{identifier}}"
        app.add_api_route(path, read, methods=["GET"])
        app.add_api_route(path, patch, methods=["PATCH"])
        app.add_api_route(path, delete, methods=["DELETE"])

    for kind in KINDS.values():
        routes(kind)

    @app.put("/v1/subscribers/{identifier}/restriction")
    async def restriction(identifier: str, request: Request) -> JSONResponse:
        number = record_id(identifier)
        kind = SUBSCRIBERS
        if number is None or store.get(kind, number) is None:
            return _error(404, "not_found")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "malformed_json")
        if (
            not isinstance(body, dict)
            or set(body) != {"restricted"}
            or not isinstance(body["restricted"], bool)
        ):
            raise BadInput('the body is {"restricted": true|false}')
        row = store.update(kind, number, {"restricted": body["restricted"]})
        assert row is not None
        return JSONResponse({"data": to_record(kind, row)})

    return app


# ------------------------------------------------------------------------------------------- main


def server_config(app: FastAPI, host: str, port: int) -> Any:
    """uvicorn's settings for the API: no access log (its lines hold the emails searched for), and
    room for long query strings (a batch of addresses)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        lifespan="off",
        h11_max_incomplete_event_size=1024 * 1024,
    )


def server_parser(prog: str, description: str, *, rate: float) -> argparse.ArgumentParser:
    """The command-line options every way of serving the API shares (port, host, token, rate)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--token-env", required=True, help="The environment variable holding the bearer token."
    )
    parser.add_argument(
        "--rate", type=float, default=rate, help="Requests a second before 429 (0: no limit)."
    )
    parser.add_argument("--burst", type=int, default=None)
    return parser


def token_from_env(parser: argparse.ArgumentParser, arguments: argparse.Namespace) -> str:
    """The token from the variable `--token-env` names (never from the command line itself)."""
    token = os.environ.get(arguments.token_env, "")
    if not token:
        parser.error(f"the environment variable {arguments.token_env} holds no token")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return token


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = server_parser("python -m services.demo.newsletter_api", __doc__.split("\n")[0], rate=50.0)
    parser.add_argument("--data", type=Path, required=True, help="The SQLite file holding the API's data.")
    arguments = parser.parse_args(argv)
    token = token_from_env(parser, arguments)
    store = NewsletterStore(arguments.data)
    app = create_app(store, token, rate=arguments.rate or None, burst=arguments.burst)
    server = uvicorn.Server(server_config(app, arguments.host, arguments.port))
    log.info("Newsletter API: http://%s:%d (data %s)", arguments.host, arguments.port, arguments.data)
    try:
        asyncio.run(server.serve())
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
