"""The HTTP engine in the conformance suite: the fixture's rows behind a small JSON API of our own
on loopback (uvicorn in a thread), described by an `api:` section as a SaaS product would be.

The API: `GET /api/{table}?{column}=..` (the parameter repeated for several values; any searchable
column, or `id`) answering `{"data": [...], "meta": {"next_page": ...}}` two records a page (so
every search crosses pages), and `GET|PATCH|DELETE /api/{table}/{id}` (`{"data": record}`, 404 when
there is none). Records are JSON: numeric as a number, dates and times as ISO 8601 text. As a source
system with NOT NULL columns would, it stores null in `customers.name` as ''. Bearer token auth.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.catalogue.model import Catalogue, ColumnType, System
from services.systems.contract import SourceSystem
from services.systems.guard import Limits
from services.systems.registry import SourceSystems
from services.systems.sample import ROWS, SYSTEM, fixture_catalogue, fixture_system
from tests.systems.conformance.fixture import EngineFixture
from tests.systems.http.servers import ThreadServer

TOKEN = "conformance-token"
URL_ENV, TOKEN_ENV = "DSR_CONFORMANCE_API_URL", "DSR_CONFORMANCE_API_TOKEN"
PAGE = 2
NOT_NULL_TEXT = frozenset({("customers", "name")})

LIMITS = Limits(timeout=5.0, attempts=2, backoff=0.01, cooldown=0.0, connections=4)


def _listing(table: str, by: str, placeholder: str = "{values}") -> dict[str, Any]:
    return {
        "by": by,
        "path": f"/api/{table}",
        "query": {by: placeholder},
        "records": "data",
        "pagination": {"kind": "page", "next": "meta.next_page"},
    }


def _resource(table: str, searches: list[str], *, restrict: bool) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "search": [_listing(table, by) for by in searches],
        "read": {
            "path": f"/api/{table}",
            "query": {"id": "{keys}"},
            "records": "data",
            "pagination": {"kind": "page", "next": "meta.next_page"},
        },
        "delete": {"path": f"/api/{table}/{{key}}"},
        "update": {"path": f"/api/{table}/{{key}}"},
    }
    if restrict:
        resource["restrict"] = {"path": f"/api/{table}/{{key}}"}
    return resource


API: dict[str, Any] = {
    "auth": {"kind": "bearer", "token_env": TOKEN_ENV},
    "resources": {
        "customers": _resource(
            "customers", ["customer_number", "national_id", "email", "phone"], restrict=True
        ),
        "cases": _resource("cases", ["case_number", "customer_id"], restrict=True),
        # letters are restricted through their case (`case_id.restricted`): the cases' restrict
        "letters": {**_resource("letters", ["case_id"], restrict=False)}
        | {"read": {"path": "/api/letters/{key}", "record": "data"}},
    },
}
"""Customers and cases read by a batch of keys, letters one request per key (both kinds tested)."""


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _dumps(value: Any) -> str:
    """JSON with Decimals as numbers, exactly as written."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v) for v in value) + "]"
    return json.dumps(_json_value(value), ensure_ascii=False)


def _answer(document: Any, status: int = 200) -> Response:
    return Response(_dumps(document), status_code=status, media_type="application/json")


def _from_json(value: Any, kind: ColumnType) -> Any:
    """A JSON value sent to the API as the column's Python type (what `dump` compares)."""
    if value is None:
        return None
    if kind in (ColumnType.bigint, ColumnType.integer):
        return int(value)
    if kind is ColumnType.numeric:
        return Decimal(str(value))
    if kind is ColumnType.date:
        return date.fromisoformat(value)
    if kind is ColumnType.timestamptz:
        return datetime.fromisoformat(value)
    if kind is ColumnType.boolean and not isinstance(value, bool):
        raise ValueError("not a boolean")
    if kind is ColumnType.text and not isinstance(value, str):
        raise ValueError("not text")
    return value


class FixtureApi:
    """The fixture's rows in memory, behind the JSON API described by `API`."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.lock = threading.Lock()
        self.rows: dict[str, dict[int, dict[str, Any]]] = {}
        self.restore()
        self.app = Starlette(
            routes=[
                Route("/api/{table}", self._list, methods=["GET"]),
                Route("/api/{table}/{key}", self._one, methods=["GET", "PATCH", "DELETE"]),
            ]
        )
        self.app.router.redirect_slashes = False

    def restore(self) -> None:
        with self.lock:
            self.rows = {
                table: {row["id"]: copy.deepcopy(row) for row in rows} for table, rows in ROWS.items()
            }

    def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self.lock:
            return {
                table: {str(key): copy.deepcopy(row) for key, row in rows.items()}
                for table, rows in self.rows.items()
            }

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def _list(self, request: Request) -> Response:
        table = request.path_params["table"]
        spec = self.system.tables.get(table)
        if not self._authorised(request):
            return _answer({"error": "unauthorized"}, 401)
        if spec is None:
            return _answer({"error": "not_found"}, 404)
        filters = {
            column: set(request.query_params.getlist(column))
            for column in request.query_params
            if column not in ("page", "per_page")
        }
        if any(column not in spec.columns for column in filters):
            return _answer({"error": "unknown_filter"}, 400)
        page = int(request.query_params.get("page", "1"))
        with self.lock:
            found = [
                row
                for _, row in sorted(self.rows[table].items())
                if all(_text(row[column]) in wanted for column, wanted in filters.items())
            ]
            here = copy.deepcopy(found[(page - 1) * PAGE : page * PAGE])
        following = page + 1 if page * PAGE < len(found) else None
        return _answer({"data": here, "meta": {"next_page": following}})

    async def _one(self, request: Request) -> Response:
        table = request.path_params["table"]
        spec = self.system.tables.get(table)
        if not self._authorised(request):
            return _answer({"error": "unauthorized"}, 401)
        key = request.path_params["key"]
        if spec is None or not key.isdigit():
            return _answer({"error": "not_found"}, 404)
        body: Any = None
        if request.method == "PATCH":
            try:
                body = json.loads(await request.body())
                changes = {
                    column: _from_json(value, spec.columns[column].type) for column, value in body.items()
                }
            except (ValueError, KeyError, AttributeError, TypeError):
                return _answer({"error": "bad_request"}, 422)
            for column, value in changes.items():
                if value is None and (table, column) in NOT_NULL_TEXT:
                    changes[column] = ""
        with self.lock:
            row = self.rows[table].get(int(key))
            if row is None:
                return _answer({"error": "not_found"}, 404)
            if request.method == "DELETE":
                del self.rows[table][int(key)]
                return Response(status_code=204)
            if request.method == "PATCH":
                row.update(changes)
            return _answer({"data": copy.deepcopy(row)})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HttpEngineFixture:
    """`EngineFixture` for the http engine: the API served on one port for the whole session."""

    engine = "http"

    def __init__(self) -> None:
        self.system = fixture_system({"engine": "http", "env": URL_ENV}, api=API)
        self.catalogue: Catalogue = fixture_catalogue(self.system)
        self.api = FixtureApi(self.system)
        self.server = ThreadServer(self.api.app)

    async def restore(self) -> None:
        await self.start_server()
        self.api.restore()

    def adapter(self, limits: Limits | None = None) -> SourceSystem:
        systems = SourceSystems(
            self.catalogue,
            server_url=None,
            limits=limits or LIMITS,
            read_only=False,
            application_name="dsr-conformance",
            env={URL_ENV: self.server.url, TOKEN_ENV: TOKEN},
        )
        return systems[SYSTEM]

    async def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.api.dump()

    async def stop_server(self) -> None:
        await self.server.astop()

    async def start_server(self) -> None:
        await self.server.astart()


@asynccontextmanager
async def http_engine(
    _request: pytest.FixtureRequest, _tmp: pytest.TempPathFactory
) -> AsyncIterator[EngineFixture]:
    fixture = HttpEngineFixture()
    await fixture.start_server()
    try:
        yield fixture
    finally:
        await fixture.stop_server()


ENGINE_FACTORIES = {"http": http_engine}
"""Picked up by `engines.py` (OPTIONAL_ENGINE_MODULES)."""
