"""A source system that is a JSON API over HTTP, described by the catalogue's `api:` section
(`services/catalogue/http_api.py`): a SaaS product is a catalogue file, not code.

There are no transactions over HTTP: changes are carried out one by one, in order, each record read
first so that only what differs is sent (applying a change twice changes nothing the second time),
and every request is idempotent, so a batch cut short is simply applied again.

Every failure (a 5xx, a timeout, a refused connection, a 429 after its `Retry-After`, an unexpected
3xx/4xx, an answer that is no JSON or not of the described shape, a field of the wrong type) is
retried under the shared policy (`guard.py`) and then ends as `SystemUnknown` with a short cause
code: never "no data". Nothing of an answer, and no URL (which holds identifiers), is logged, put
in an error or counted in a metric.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import email.utils
import functools
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from services.catalogue.http_api import (
    PLACEHOLDER,
    ApiKeyAuth,
    BasicAuth,
    BearerAuth,
    CursorPages,
    HttpApi,
    LinkPages,
    OAuth2ClientCredentials,
    OffsetLimit,
    PageNumbers,
    Read,
    Request,
    Resource,
    Restrict,
    Search,
)
from services.catalogue.model import ColumnType, IdentifierType, System, Table
from services.systems.contract import (
    Applied,
    Guard,
    Health,
    Row,
    RowChange,
    SourceRow,
    SystemUnknown,
    Unsupported,
)
from services.systems.engine import Engine
from services.systems.guard import Limits, Retrying
from services.systems.plan import SystemPlan, TablePlan

log = logging.getLogger(__name__)

# httpx logs every request's URL at INFO and httpcore the response headers at DEBUG (a `Link` or
# `Location` header holds identifiers): neither may reach the logs, whatever the root level.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

T = TypeVar("T")

HEALTH_PROBE = "dsr-health-probe.invalid"
"""The value a health check searches for when the API has no `health` request (it matches nothing)."""

_INTEGER = re.compile(r"^-?[0-9]{1,19}$")


class _Failure(SystemUnknown):
    """A failed call; `retry_after` (seconds) is what the shared policy waits before the next try."""

    def __init__(self, system: str, cause: str, retry_after: float | None = None) -> None:
        super().__init__(system, cause)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class _Answer:
    status: int
    data: Any
    next_link: str | None


class _Gone(Exception):
    """A 404 or 410 where the operation says it means "no such record"."""


class _RateLimiter:
    """A token bucket (`per_second`, `burst`), and a pause for everyone after a 429's Retry-After."""

    def __init__(self, per_second: float | None, burst: int | None) -> None:
        self.rate = per_second
        self.capacity = float(burst or max(1, math.ceil(per_second or 1)))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self.not_before = 0.0
        self.lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)

    async def acquire(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if now < self.not_before:
                await asyncio.sleep(self.not_before - now)
            if self.rate is None:
                return
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                await asyncio.sleep((1 - self.tokens) / self.rate)
                self.tokens, self.updated = 1.0, time.monotonic()
            self.tokens -= 1


class HttpSystem(Engine):
    """One catalogued JSON API: one pooled HTTP/1.1 client (opened on first use)."""

    engine = "http"

    def __init__(
        self,
        name: str,
        spec: System,
        plan: SystemPlan | None,
        url: str,
        *,
        limits: Limits,
        env: Mapping[str, str],
        application_name: str,
    ) -> None:
        super().__init__(name, spec, plan)
        # Validation guarantees an http system its `api`; without one, every call is unknown.
        self.api: HttpApi = spec.api or HttpApi.model_construct(resources={})
        self._env = env
        self._application_name = application_name
        parts = urlsplit(url.strip())
        self._url_ok = parts.scheme in ("http", "https") and bool(parts.netloc) and "@" not in parts.netloc
        self._base = url.strip().rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._request_timeout = self.api.timeout or limits.timeout
        rate = self.api.rate_limit
        self._max_retry_after = rate.max_retry_after if rate is not None else 30.0
        self._limiter = _RateLimiter(rate.per_second if rate else None, rate.burst if rate else None)
        retry = self.api.retry
        self._limits = dataclasses.replace(
            limits,
            # One attempt is: the rate limiter's wait, a token, the request and, after a 401, a new
            # token and the request again; each request is bounded by the request timeout itself.
            timeout=self._request_timeout * 4 + self._max_retry_after,
            attempts=retry.attempts if retry and retry.attempts else limits.attempts,
            backoff=retry.backoff if retry and retry.backoff is not None else limits.backoff,
        )
        self._retrying = Retrying(name, self._limits, ())
        self._slots = asyncio.Semaphore(max(1, limits.connections))
        self._client: httpx.AsyncClient | None = None
        self._token: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    # ------------------------------------------------------------------------------------ reads

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        if self.plan is None:
            return []
        jobs: list[tuple[TablePlan, Awaitable[list[Row]]]] = []
        for table_plan in self.plan.tables.values():
            resource = self.api.resources.get(table_plan.name)
            if resource is None:  # the checker requires one: never "no data" for want of it
                raise Unsupported(self.name, "no_resource")
            spec = self._table(table_plan.name)
            for search in resource.search:
                wanted = self._wanted(spec, table_plan, search, values, parents)
                if wanted:
                    jobs.append((table_plan, self._search_records(table_plan.name, resource, search, wanted)))
        found = await _all([job for _, job in jobs])
        rows: dict[tuple[str, str], SourceRow] = {}
        for (table_plan, _), records in zip(jobs, found, strict=True):
            [pk] = table_plan.primary_key
            for row in records:
                key = _text(row[pk])
                if key is None or (table_plan.name, key) in rows:
                    continue
                parent = _text(row[table_plan.belongs_to]) if table_plan.belongs_to else None
                identifiers = [_text(row[column.name]) for column in table_plan.identifiers]
                rows[table_plan.name, key] = (table_plan.name, [key], parent, identifiers)
        return list(rows.values())

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        """Rows by key; each `reference.column` path by reading the referenced table's records."""
        spec = self._table(table)
        rows = await self._read_rows(table, keys)
        for path in sorted(set(paths)):
            reference, column = path.split(".", 1)
            target = spec.columns[reference].references if reference in spec.columns else None
            if target is None or "." in column:
                continue  # a path the retention engine will find missing, and treat as holding
            target_table, target_key = target.split(".")
            wanted = sorted({text for row in rows.values() if (text := _text(row[reference])) is not None})
            targets: dict[str, Row] = {}
            if wanted:
                [target_pk] = self._table(target_table).primary_key
                if target_key == target_pk:
                    targets = await self._read_rows(target_table, wanted)
                else:
                    for found in await self.lookup(target_table, target_key, wanted):
                        targets.setdefault(_text(found[target_key]) or "", found)
            for row in rows.values():
                match = targets.get(_text(row[reference]) or "")
                row[path] = match.get(column) if match is not None else None
        return rows

    async def lookup(
        self, table: str, column: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Row]:
        spec = self._table(table)
        if column not in spec.columns:
            raise KeyError(f"{self.name}.{table} has no catalogued column {column!r}")
        for name in columns or ():
            if name not in spec.columns:
                raise KeyError(f"{self.name}.{table} has no catalogued column {name!r}")
        wanted = _candidates(spec.columns[column].type, values)
        resource = self._resource(table)
        search = next((s for s in resource.search if s.by == column), None) if resource else None
        [pk] = spec.primary_key
        if not wanted:
            rows: list[Row] = []
        elif search is not None and resource is not None:
            rows = await self._search_records(table, resource, search, wanted)
        elif column == pk:
            rows = list((await self._read_rows(table, wanted)).values())
        else:
            raise Unsupported(self.name, "no_lookup")
        if columns:
            return [{name: row[name] for name in columns} for row in rows]
        return rows

    def _wanted(
        self,
        spec: Table,
        table_plan: TablePlan,
        search: Search,
        values: Mapping[IdentifierType, set[str]],
        parents: Mapping[str, set[str]],
    ) -> list[str]:
        column = spec.columns[search.by]
        if column.identifier is not None:
            return _candidates(column.type, values.get(column.identifier, ()))
        if search.by == table_plan.belongs_to and table_plan.parent is not None:
            return _candidates(column.type, parents.get(table_plan.parent, ()))
        return []

    async def _search_records(
        self, table: str, resource: Resource, search: Search, wanted: list[str]
    ) -> list[Row]:
        """Records whose `search.by` column is one of `wanted` (compared as text)."""

        def convert(record: Any) -> Row:
            return self._row(table, resource, record)

        async def one(chunk: list[str]) -> list[Row]:
            substitutions: dict[str, Any] = {"values": chunk} if search.batched else {"value": chunk[0]}
            rows = await self._listing("search", search, substitutions, convert)
            if not search.filter:
                for row in rows:
                    if row[search.by] is None:
                        row[search.by] = self._convert_text(table, search.by, chunk[0])
                return rows
            wanted_here = set(chunk)
            return [row for row in rows if _text(row[search.by]) in wanted_here]

        size = search.batch if search.batched else 1
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        return [row for rows in await _all([one(chunk) for chunk in chunks]) for row in rows]

    async def _read_rows(self, table: str, keys: Sequence[str]) -> dict[str, Row]:
        spec = self._table(table)
        resource = self._resource(table)
        if resource is None or resource.read is None:
            raise Unsupported(self.name, "no_read")
        read = resource.read
        [pk] = spec.primary_key
        wanted = _candidates(spec.columns[pk].type, keys)
        if not wanted:
            return {}

        def convert(record: Any) -> Row:
            assert resource is not None
            return self._row(table, resource, record)

        async def one(chunk: list[str]) -> list[Row]:
            substitutions: dict[str, Any] = {"keys": chunk} if read.batched else {"key": chunk[0]}
            if read.listing:
                rows = await self._listing("read", read, substitutions, convert)
            else:
                try:
                    rows = await self._call(
                        "read",
                        read,
                        substitutions,
                        lambda answer: [convert(_at(self.name, answer.data, read.record or "."))],
                        gone_ok=True,
                    )
                except _Gone:
                    return []
            here = set(chunk)  # an answer about another record is not this one's
            return [row for row in rows if _text(row[pk]) in here]

        size = read.batch if read.batched else 1
        chunks = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        found: dict[str, Row] = {}
        for rows in await _all([one(chunk) for chunk in chunks]):
            for row in rows:
                found.setdefault(_text(row[pk]) or "", row)
        return found

    async def _listing(
        self,
        operation: str,
        listing: Search | Read,
        substitutions: dict[str, Any],
        convert: Callable[[Any], Row],
    ) -> list[Row]:
        """Every record of every page of one listing request, as rows. Each page is read, checked
        and converted inside its own attempt: an answer of the wrong shape is retried too."""
        pagination = listing.pagination
        extra: dict[str, str] = {}
        if isinstance(pagination, PageNumbers):
            extra[pagination.param] = str(pagination.start)
        elif isinstance(pagination, OffsetLimit):
            extra[pagination.param] = str(pagination.start)
            extra[pagination.limit_param] = str(pagination.limit)
        if (
            isinstance(pagination, PageNumbers | CursorPages | LinkPages)
            and pagination.size_param is not None
        ):
            extra[pagination.size_param] = str(pagination.size)
        rows: list[Row] = []
        next_url: str | None = None
        seen: set[str] = set()
        offset = pagination.start if isinstance(pagination, OffsetLimit) else 0
        for page in range(1, listing.max_pages + 2):
            if page > listing.max_pages:
                raise SystemUnknown(self.name, "too_many_pages")

            parse = functools.partial(self._page, listing, convert=convert, asked=dict(extra), offset=offset)

            try:
                batch, following = await self._call(
                    operation,
                    listing,
                    substitutions,
                    parse,
                    extra=extra,
                    url=next_url,
                    gone_ok=listing.not_found == "empty",
                )
            except _Gone:
                if page == 1:
                    return []
                raise SystemUnknown(self.name, "http_404") from None
            rows.extend(batch)
            offset += len(batch)
            if following is None or pagination is None:
                break
            if following in seen:
                raise SystemUnknown(self.name, "wrong_shape")  # the same page again: a loop
            seen.add(following)
            if isinstance(pagination, LinkPages):
                next_url = following
            else:
                extra[pagination.param] = following
        return rows

    def _page(
        self,
        listing: Search | Read,
        answer: _Answer,
        *,
        convert: Callable[[Any], Row],
        asked: Mapping[str, str],
        offset: int,
    ) -> _PageRows:
        """One page's rows, and what asks for the next page (None: this was the last)."""
        records = _at(self.name, answer.data, listing.records or ".")
        if not isinstance(records, list):
            raise SystemUnknown(self.name, "wrong_shape")
        rows = [convert(record) for record in records]
        pagination = listing.pagination
        following: Any = None
        if isinstance(pagination, PageNumbers):
            if pagination.next is not None:
                following = _at(self.name, answer.data, pagination.next)
                if following is False:
                    following = None
            elif rows:
                following = int(asked[pagination.param]) + 1
        elif isinstance(pagination, OffsetLimit):
            if rows:
                following = offset + len(rows)
            if rows and pagination.total is not None:
                total = _at(self.name, answer.data, pagination.total)
                if isinstance(total, bool) or not isinstance(total, int):
                    raise SystemUnknown(self.name, "wrong_shape")
                if following >= total:
                    following = None
        elif isinstance(pagination, CursorPages):
            following = _at(self.name, answer.data, pagination.next)
        elif isinstance(pagination, LinkPages) and answer.next_link is not None:
            following = self._own_link(answer.next_link)
        if following is None or following == "":
            return rows, None
        if isinstance(following, bool) or not isinstance(following, int | str):
            raise SystemUnknown(self.name, "wrong_shape")
        return rows, str(following)

    def _own_link(self, link: str) -> str:
        """A `Link: rel=next` target, only on the API's own origin and under its base path."""
        url = httpx.URL(self._base + "/").join(link)
        if f"{url.scheme}://{url.netloc.decode('ascii')}" != self._origin or not str(url).startswith(
            self._base + "/"
        ):
            raise SystemUnknown(self.name, "foreign_link")
        return str(url)

    # ----------------------------------------------------------------------------------- writes

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        """Each change in order, no transaction: each request is idempotent and retried on its own;
        a batch cut short by an unknown answer is applied again as a whole, changing nothing twice."""
        for change in changes:
            self._check_supported(change, guarded=guard is not None)
        return [await self._apply_one(change, guard) for change in changes]

    def _check_supported(self, change: RowChange, *, guarded: bool) -> None:
        """Refuses a change this API cannot carry out before anything of the batch is sent."""
        spec = self._table(change.table)
        resource = self._resource(change.table)
        for column in change.values:
            if column not in spec.columns:
                raise KeyError(f"{self.name}.{change.table} has no catalogued column {column!r}")
        if resource is None:
            raise Unsupported(self.name, "no_resource")
        marking = not change.delete and change.restricted is not None and spec.restriction is not None
        if change.delete and resource.delete is None:
            raise Unsupported(self.name, "no_delete")
        if not change.delete and change.values and resource.update is None:
            raise Unsupported(self.name, "no_update")
        if resource.read is None and (
            guarded or change.read_before or (not change.delete and change.values) or marking
        ):
            raise Unsupported(self.name, "no_read")
        if marking:
            target = self._resource(self._restriction_target(spec, change.table)[0])
            if target is None or target.read is None:
                raise Unsupported(self.name, "no_read")
            if target.restrict is None:
                raise Unsupported(self.name, "no_restrict")

    async def _apply_one(self, change: RowChange, guard: Guard | None) -> Applied:
        spec = self._table(change.table)
        resource = self._resource(change.table)
        assert resource is not None
        [pk] = spec.primary_key
        keys = _candidates(spec.columns[pk].type, [change.key])
        if not keys:
            return Applied(change, 0)  # a key no record can have (not a number, no valid Unicode)
        [key] = keys
        marking = not change.delete and change.restricted is not None and spec.restriction is not None
        current: Row | None = None
        before: Row | None = None
        if guard is not None or change.read_before or (not change.delete and (change.values or marking)):
            current = (await self._read_rows(change.table, [key])).get(key)
            if current is None:
                return Applied(change, 0)
            if guard is not None and not guard(change, dict(current)):
                return Applied(change, 0, dict(current), skipped=True)
            if guard is not None or change.read_before:
                before = {c: current[c] for c in change.values if current[c] != change.values[c]}
        if change.delete:
            assert resource.delete is not None
            try:
                await self._call(
                    "delete", resource.delete, {"key": key}, _ignore, gone_ok=True, expect_json=False
                )
            except _Gone:
                return Applied(change, 0, before)
            return Applied(change, 1, before)
        assert current is not None or not (change.values or marking)
        changed = 0
        differing = sorted(
            c for c in change.values if current is not None and not _same(current[c], change.values[c])
        )
        if differing:
            assert resource.update is not None
            changes = _nest({resource.field(c): change.values[c] for c in differing})
            try:
                await self._call(
                    "apply",
                    resource.update,
                    {"key": key, "changes": changes},
                    _ignore,
                    gone_ok=True,
                    expect_json=False,
                )
            except _Gone:
                return Applied(change, 0, before)
            changed += 1
        if marking and current is not None:
            assert change.restricted is not None
            changed += await self._mark(spec, change.table, current, change.restricted)
        return Applied(change, changed, before)

    def _restriction_target(self, spec: Table, table: str) -> tuple[str, str]:
        """(table, column) holding `table`'s restriction mark (its own, or the referenced row's)."""
        assert spec.restriction is not None
        column = spec.restriction.column
        if "." not in column:
            return table, column
        reference, target_column = column.split(".", 1)
        target = spec.columns[reference].references
        assert target is not None
        return target.split(".")[0], target_column

    async def _mark(self, spec: Table, table: str, row: Row, value: bool) -> int:
        target_table, column = self._restriction_target(spec, table)
        if target_table == table:
            target_row: Row | None = row
            [pk] = spec.primary_key
        else:
            reference = spec.restriction.column.split(".", 1)[0] if spec.restriction else ""
            target_key = _text(row[reference])
            if target_key is None:
                return 0
            target_row = (await self._read_rows(target_table, [target_key])).get(target_key)
            [pk] = self._table(target_table).primary_key
        if target_row is None or target_row[column] == value:
            return 0
        resource = self._resource(target_table)
        assert resource is not None and resource.restrict is not None
        request: Restrict = resource.unrestrict if (not value and resource.unrestrict) else resource.restrict
        substitutions = {
            "key": _text(target_row[pk]) or "",
            "restricted": value,
            "changes": _nest({resource.field(column): value}),
        }
        try:
            await self._call("apply", request, substitutions, _ignore, gone_ok=True, expect_json=False)
        except _Gone:
            return 0
        return 1

    # ----------------------------------------------------------------------------------- health

    async def health(self) -> Health:
        """The API's `health` request, else its first search for a value that matches nothing."""
        started = time.perf_counter()
        try:
            if self.api.health is not None:
                await self._call("health", self.api.health, {}, _ignore, attempts=1, expect_json=False)
            else:
                searches = [
                    (self._table(table).columns[s.by].type, s)
                    for table, resource in self.api.resources.items()
                    if table in self.spec.tables
                    for s in resource.search
                ]
                # an identifier column's search (text) if there is one, a parent key's else
                chosen = next((c for c in searches if c[0] is ColumnType.text), None) or next(
                    iter(searches), None
                )
                if chosen is None:
                    return Health(False, self.engine, time.perf_counter() - started, "no_health_request")
                kind, search = chosen
                probe = HEALTH_PROBE if kind is ColumnType.text else "0"
                substitutions = {"values": [probe]} if search.batched else {"value": probe}
                records = search.records or "."
                with contextlib.suppress(_Gone):
                    await self._call(
                        "health",
                        search,
                        substitutions,
                        lambda answer: _list_at(self.name, answer.data, records),
                        attempts=1,
                        gone_ok=search.not_found == "empty",
                    )
        except SystemUnknown as exc:
            return Health(False, self.engine, time.perf_counter() - started, exc.cause)
        return Health(True, self.engine, time.perf_counter() - started)

    # -------------------------------------------------------------------------------- requests

    async def _call(
        self,
        operation: str,
        request: Request,
        substitutions: Mapping[str, Any],
        parse: Callable[[_Answer], T],
        *,
        extra: Mapping[str, str] | None = None,
        url: str | None = None,
        gone_ok: bool = False,
        expect_json: bool = True,
        attempts: int | None = None,
    ) -> T:
        """One request under the retry policy, its answer `parse`d inside the attempt (so that an
        answer of the wrong shape is retried too); raises `_Gone` for a 404/410 when `gone_ok`."""
        if not self._url_ok:
            raise SystemUnknown(self.name, "invalid_url")
        if url is None:
            if any(substitutions.get(name) == "" for name in PLACEHOLDER.findall(request.path)):
                raise _Gone()  # an empty path segment addresses no record (perhaps the collection)
            target = self._base + _render_path(request.path, substitutions)
            params = _render_query(request.query, substitutions, getattr(request, "join", None))
            params += list((extra or {}).items())
        else:  # a next page's link carries its own query
            target, params = url, []
        body = _render_body(request.body, substitutions) if request.body is not None else None
        content = _dump_json(body).encode() if body is not None else None

        async def attempt() -> tuple[T] | None:
            response = await self._send(request.method, target, params, content, request.headers)
            if response.status == 401 and isinstance(self.api.auth, OAuth2ClientCredentials):
                self._token = None  # expired or revoked early: one new token, one more try
                response = await self._send(request.method, target, params, content, request.headers)
            answer = self._interpret(response, gone_ok=gone_ok, expect_json=expect_json)
            return None if answer is None else (parse(answer),)

        async with self._slots:
            result = await self._retrying.run(operation, attempt, attempts=attempts)
        if result is None:
            raise _Gone()
        return result[0]

    async def _send(
        self,
        method: str,
        url: str,
        params: list[tuple[str, str]],
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> _Response:
        await self._limiter.acquire()
        client = self._open()
        auth_headers, auth_params = await self._credentials()
        all_headers = {**headers, **auth_headers}
        if content is not None:
            all_headers.setdefault("Content-Type", "application/json")
        query: list[tuple[str, str | int | float | bool | None]] = [*params, *auth_params]
        self.statements += 1
        try:
            async with asyncio.timeout(self._request_timeout):
                # Merged into the URL's own query (a next page's link has one): `params=` would
                # replace it.
                target = httpx.URL(url).copy_merge_params(query) if query else httpx.URL(url)
                async with client.stream(method, target, content=content, headers=all_headers) as response:
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > self.api.max_response_bytes:
                            raise _Failure(self.name, "too_large")
                        chunks.append(chunk)
                    links = response.links
                    return _Response(
                        response.status_code,
                        b"".join(chunks),
                        links.get("next", {}).get("url"),
                        response.headers.get("retry-after"),
                    )
        except _Failure:
            raise
        except (TimeoutError, httpx.TimeoutException):
            raise _Failure(self.name, "timeout") from None
        except httpx.ConnectError:
            raise _Failure(self.name, "connect_error") from None
        except httpx.RemoteProtocolError:
            raise _Failure(self.name, "protocol_error") from None
        except httpx.DecodingError:
            raise _Failure(self.name, "malformed_body") from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol):
            raise _Failure(self.name, "invalid_url") from None
        except httpx.TransportError:
            raise _Failure(self.name, "network_error") from None

    def _interpret(self, response: _Response, *, gone_ok: bool, expect_json: bool) -> _Answer | None:
        status = response.status
        if 200 <= status < 300:
            data = _parse_json(self.name, response.body) if expect_json else None
            return _Answer(status, data, response.next_link)
        if status in (404, 410) and gone_ok:
            return None
        if status == 429:
            wait = _retry_after(response.retry_after)
            wait = min(wait if wait is not None else 1.0, self._max_retry_after)
            self._limiter.pause(wait)
            raise _Failure(self.name, "http_429", retry_after=wait)
        raise _Failure(self.name, f"http_{status}")

    # ----------------------------------------------------------------------------- credentials

    async def _credentials(self) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """Headers and query parameters that authenticate a request (read now: secrets rotate)."""
        auth = self.api.auth
        if auth is None:
            return {}, []
        if isinstance(auth, BearerAuth):
            token = self._secret(auth.token_env, auth.token_file)
            return {auth.header: f"{auth.scheme} {token}" if auth.scheme else token}, []
        if isinstance(auth, BasicAuth):
            user = self._secret(auth.username_env, None)
            password = self._secret(auth.password_env, auth.password_file)
            return {"Authorization": _basic(user, password)}, []
        if isinstance(auth, ApiKeyAuth):
            key = self._secret(auth.key_env, auth.key_file)
            if auth.header is not None:
                return {auth.header: key}, []
            assert auth.query is not None
            return {}, [(auth.query, key)]
        return {"Authorization": f"Bearer {await self._oauth_token(auth)}"}, []

    def _secret(self, env: str | None, file: str | None) -> str:
        value: str | None = None
        if env is not None:
            value = self._env.get(env)
        elif file is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                value = Path(file).read_text(encoding="utf-8").strip()
        if not value or "\n" in value or "\r" in value:
            raise _Failure(self.name, "auth_unresolved")
        return value

    async def _oauth_token(self, auth: OAuth2ClientCredentials) -> str:
        async with self._token_lock:
            if self._token is not None and time.monotonic() < self._token[1]:
                return self._token[0]
            client_id = self._secret(auth.client_id_env, None)
            secret = self._secret(auth.client_secret_env, auth.client_secret_file)
            form = {"grant_type": "client_credentials"}
            if auth.scope:
                form["scope"] = auth.scope
            if auth.audience:
                form["audience"] = auth.audience
            headers = {"Accept": "application/json"}
            if auth.client_auth == "basic":
                headers["Authorization"] = _basic(client_id, secret)
            else:
                form |= {"client_id": client_id, "client_secret": secret}
            url = auth.token_url if "://" in auth.token_url else self._origin + auth.token_url
            self.statements += 1
            try:
                async with asyncio.timeout(self._request_timeout):
                    response = await self._open().post(url, data=form, headers=headers)
            except (TimeoutError, httpx.TimeoutException):
                raise _Failure(self.name, "token_timeout") from None
            except httpx.HTTPError:
                raise _Failure(self.name, "token_unreachable") from None
            if response.status_code != 200:
                raise _Failure(self.name, f"token_http_{response.status_code}")
            try:
                answer = json.loads(response.content)
            except ValueError:
                raise _Failure(self.name, "token_malformed_json") from None
            token = answer.get("access_token") if isinstance(answer, dict) else None
            lifetime = answer.get("expires_in", 3600) if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token or re.search(r"[\s]", token):
                raise _Failure(self.name, "token_wrong_shape")
            if isinstance(lifetime, str) and lifetime.isdigit():
                lifetime = int(lifetime)
            if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
                raise _Failure(self.name, "token_wrong_shape")
            self._token = (token, time.monotonic() + max(0.0, float(lifetime) - auth.expiry_margin))
            return token

    # -------------------------------------------------------------------------------- plumbing

    def _resource(self, table: str) -> Resource | None:
        self._table(table)
        return self.api.resources.get(table)

    def _row(self, table: str, resource: Resource, record: Any) -> Row:
        """A record as a row of the catalogue's types (every catalogued column; absent is None)."""
        if not isinstance(record, dict):
            raise SystemUnknown(self.name, "wrong_shape")
        spec = self._table(table)
        row: Row = {}
        for column_name, column in spec.columns.items():
            raw = _field(record, resource.field(column_name))
            row[column_name] = _convert(self.name, raw, column.type)
        [pk] = spec.primary_key
        if row[pk] is None:
            raise SystemUnknown(self.name, "wrong_shape")
        return row

    def _convert_text(self, table: str, column: str, text: str) -> Any:
        kind = self._table(table).columns[column].type
        return _convert(self.name, int(text) if kind in _INTEGERS and _INTEGER.match(text) else text, kind)

    def _open(self) -> httpx.AsyncClient:
        if self._client is None:
            connections = max(1, self._limits.connections)
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._request_timeout),
                limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
                headers={
                    "Accept": "application/json",
                    "User-Agent": f"{self._application_name} (dsr-pipeline)",
                    **self.api.headers,
                },
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


@dataclasses.dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    next_link: str | None
    retry_after: str | None


_INTEGERS = (ColumnType.bigint, ColumnType.integer)
_PageRows = tuple[list[Row], str | None]


def _candidates(kind: ColumnType, values: Iterable[str]) -> list[str]:
    """The values worth asking for, as the API writes them: for an integer column only whole
    numbers (`01` as `1`, as PostgreSQL compares them); nothing else can match."""
    if kind not in _INTEGERS:
        return _sendable(values)
    return sorted({str(int(value)) for value in values if _INTEGER.match(value)})


def _sendable(values: Iterable[str]) -> list[str]:
    """The distinct values, sorted, that can be sent at all: a string that is no valid Unicode (a
    lone surrogate) cannot be written as UTF-8, so no JSON API holds it, and it matches nothing."""
    sendable = set()
    for value in values:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            continue
        sendable.add(value)
    return sorted(sendable)


async def _all(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Every call's result, concurrently; the first failure cancels the rest and is raised."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


# ----------------------------------------------------------------------------------- templates


def _segment(value: str) -> str:
    """`value` as one path segment: everything but unreserved characters percent-encoded, and dots
    too (a value `..` must not climb out of the path)."""
    return quote(value, safe="").replace(".", "%2E")


def _render_path(template: str, substitutions: Mapping[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: _segment(_scalar(substitutions[m.group(1)])), template)


def _render_string(template: str, substitutions: Mapping[str, Any]) -> str:
    return PLACEHOLDER.sub(lambda m: _scalar(substitutions[m.group(1)]), template)


def _render_query(
    query: Mapping[str, str | int | bool], substitutions: Mapping[str, Any], join: str | None
) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for name, template in query.items():
        if not isinstance(template, str):
            params.append((name, _scalar(template)))
            continue
        whole = PLACEHOLDER.fullmatch(template)
        value = substitutions.get(whole.group(1)) if whole else None
        if isinstance(value, list):
            items = [_scalar(item) for item in value]
            params += [(name, join.join(items))] if join is not None else [(name, item) for item in items]
        else:
            params.append((name, _render_string(template, substitutions)))
    return params


def _render_body(template: Any, substitutions: Mapping[str, Any]) -> Any:
    if isinstance(template, str):
        whole = PLACEHOLDER.fullmatch(template)
        if whole:
            return substitutions[whole.group(1)]
        return _render_string(template, substitutions)
    if isinstance(template, dict):
        return {key: _render_body(value, substitutions) for key, value in template.items()}
    if isinstance(template, list):
        return [_render_body(value, substitutions) for value in template]
    return template


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"contact.email": v} -> {"contact": {"email": v}} (record fields by dotted path)."""
    nested: dict[str, Any] = {}
    for path, value in values.items():
        *parents, last = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = _jsonable(value)
    return nested


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _dump_json(value: Any) -> str:
    """JSON with Decimals as numbers (exactly as written), dates as ISO 8601 text."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a numeric value to send is not finite")
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_dump_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dump_json(v) for v in value) + "]"
    return json.dumps(_jsonable(value), ensure_ascii=False, allow_nan=False)


# ------------------------------------------------------------------------------------- answers


def _reject_constant(_: str) -> Any:
    raise ValueError("NaN or Infinity is no JSON")


def _parse_json(system: str, body: bytes) -> Any:
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise SystemUnknown(system, "malformed_json") from None


def _at(system: str, data: Any, path: str) -> Any:
    """The value at a response path; a missing step is an answer of the wrong shape."""
    if path == ".":
        return data
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            raise SystemUnknown(system, "wrong_shape")
        data = data[part]
    return data


def _list_at(system: str, data: Any, path: str) -> list[Any]:
    found = _at(system, data, path)
    if not isinstance(found, list):
        raise SystemUnknown(system, "wrong_shape")
    return found


def _ignore(_: _Answer) -> None:
    return None


def _field(record: dict[str, Any], path: str) -> Any:
    """A record's field by dotted path; absent (or under a null) is None."""
    value: Any = record
    for part in path.split("."):
        if value is None:
            return None
        if not isinstance(value, dict):
            return _WRONG
        value = value.get(part)
    return value


_WRONG = object()


def _convert(system: str, raw: Any, kind: ColumnType) -> Any:
    """A JSON value as the catalogue's Python type; anything else is an answer of the wrong type."""
    if raw is None:
        return None
    value: Any = _WRONG
    if kind in _INTEGERS:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = raw
        elif isinstance(raw, str) and _INTEGER.match(raw):
            value = int(raw)
    elif kind is ColumnType.numeric:
        if isinstance(raw, int) and not isinstance(raw, bool):
            value = Decimal(raw)
        elif isinstance(raw, Decimal):
            value = raw
        elif isinstance(raw, str):
            with contextlib.suppress(InvalidOperation):
                number = Decimal(raw)
                value = number if number.is_finite() else _WRONG
    elif kind is ColumnType.text:
        value = raw if isinstance(raw, str) else _WRONG
    elif kind is ColumnType.boolean:
        value = raw if isinstance(raw, bool) else _WRONG
    elif kind is ColumnType.date:
        if isinstance(raw, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            with contextlib.suppress(ValueError):
                value = date.fromisoformat(raw)
    elif kind is ColumnType.timestamptz and isinstance(raw, str) and len(raw) > 10:
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(raw)
            value = moment if moment.tzinfo is not None else _WRONG
    if value is _WRONG:
        raise SystemUnknown(system, "wrong_type")
    return value


def _same(current: Any, wanted: Any) -> bool:
    """Nothing to send: the field holds the value, or is empty where emptying was asked (an API
    whose field cannot be null keeps '', as the SQL engines do for a NOT NULL column)."""
    return bool(current == wanted) or (wanted is None and current == "")


def _text(value: Any) -> str | None:
    """A value as text, as PostgreSQL's `::text` gives it (keys, identifiers, parent keys)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _retry_after(header: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delay-seconds or an HTTP date)."""
    if header is None:
        return None
    header = header.strip()
    if header.isdigit():
        return float(header)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        moment = email.utils.parsedate_to_datetime(header)
        if moment.tzinfo is not None:
            return max(0.0, moment.timestamp() - time.time())
    return None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
