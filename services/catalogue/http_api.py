"""The `api:` section of an `engine: http` system: a JSON API described, not programmed, so that a
SaaS product (a newsletter tool, a CRM) is a catalogue file.

The catalogue's tables are the API's record types: `api.resources.<table>` says how to find a
table's records by each identifier column (or by its parent's key), read them by key, and delete,
update and restrict them. Templates name what they fill in with placeholders:

- `{value}` / `{values}`: the value (or a batch of values, a JSON list in a body, the parameter
  repeated in a query unless `join` is given) a search looks for;
- `{key}` / `{keys}`: the record's primary key (a batch of keys in a `read`);
- `{changes}`: the changed columns as an object, through the resource's `fields` (an update body);
- `{restricted}`: true or false (a restrict body).

Values in a path are percent-encoded as one segment (a `/` in a value never changes the path).
Credentials are named, never written: `token_env`, `password_env`, `client_secret_env` hold the
names of environment variables (or `*_file` a mounted secret), as `connection.env` does.

Checks that need the system's tables (a resource for a table that does not exist, a search by a
column that is no identifier) are in `api_problems`, run by the checker and by `System` itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from services.catalogue.model import System

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
"""An environment variable's name (upper case letters, digits and '_'): it holds the secret."""

SecretFile = Annotated[str, StringConstraints(pattern=r"^/\S+$")]
"""An absolute path to a file holding the secret (a mounted secret)."""

ResponsePath = Annotated[
    str, StringConstraints(pattern=r"^(\.|[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*)$")
]
"""Where something is in a JSON answer: `data.items` (objects' keys joined by dots); `.` is the
answer itself."""

RecordField = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
]
"""A field of a record, `contact.email` for a nested one."""

HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$", max_length=64)]

ParamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\[\]-]+$", max_length=64)]

ColumnName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
"""`{name}` in a template (names are checked against the operation's own)."""

LIST_PLACEHOLDERS = frozenset({"values", "keys"})
"""Placeholders that stand for a list: the parameter repeated in a query (or joined), a JSON list
in a body."""

_CREDENTIAL_HEADER = re.compile(
    r"(?i)^(authorization|proxy-authorization|cookie)$|token|secret|key|auth|pass"
)


class _Strict(BaseModel):
    """As `model.Strict` (unknown keys are errors; frozen); not imported from there, which imports us."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def _exactly_one(self, first: str, second: str, why: str = "") -> None:
        """A value is given by one of two fields (a variable or a file; a header or a query)."""
        if (getattr(self, first) is None) == (getattr(self, second) is None):
            raise ValueError(f"name exactly one of `{first}` or `{second}`{why}")


def placeholders(template: object) -> set[str]:
    """Every placeholder name in a template (a string, or any JSON value holding strings)."""
    if isinstance(template, str):
        return set(PLACEHOLDER.findall(template))
    if isinstance(template, dict):
        return {name for value in template.values() for name in placeholders(value)}
    if isinstance(template, list):
        return {name for value in template for name in placeholders(value)}
    return set()


def _check_string(
    template: str, allowed: frozenset[str], where: str, *, whole: frozenset[str], barred: frozenset[str]
) -> None:
    """Placeholders in `template` are the operation's (`allowed`), none of `barred` here, and
    those in `whole` only as the whole string."""
    for name in PLACEHOLDER.findall(template):
        if name not in allowed:
            known = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none"
            raise ValueError(f"unknown placeholder {{{name}}} in the {where} (this operation knows {known})")
        if name in barred:
            raise ValueError(f"{{{name}}} cannot be in the {where}")
        if name in whole and template != f"{{{name}}}":
            raise ValueError(
                f"{{{name}}} is a list, an object or a boolean: it is a whole value, not part of the {where}"
            )


_PATH_BARRED = frozenset({"values", "keys", "changes", "restricted"})
_QUERY_BARRED = frozenset({"changes"})
_BODY_WHOLE = frozenset({"values", "keys", "changes", "restricted"})


def _check_body(template: object, allowed: frozenset[str]) -> None:
    if isinstance(template, str):
        _check_string(template, allowed, "body", whole=_BODY_WHOLE, barred=frozenset())
    elif isinstance(template, dict):
        for key, value in template.items():
            if PLACEHOLDER.search(str(key)):
                raise ValueError(f"a body key is fixed text, not a template: {key!r}")
            _check_body(value, allowed)
    elif isinstance(template, list):
        for value in template:
            _check_body(value, allowed)


# ---------------------------------------------------------------------------------------- auth


class BearerAuth(_Strict):
    """A token sent in a header (`Authorization: Bearer <token>`; `header`/`scheme` for an API key
    header such as `X-Api-Key: <token>`, with `scheme: ""`)."""

    kind: Literal["bearer"]
    token_env: EnvName | None = Field(None, description="The environment variable holding the token.")
    token_file: SecretFile | None = Field(None, description="A file holding the token (a mounted secret).")
    header: HeaderName = "Authorization"
    scheme: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]*$")] = "Bearer"

    @model_validator(mode="after")
    def _one_source(self) -> BearerAuth:
        self._exactly_one("token_env", "token_file")
        return self


class BasicAuth(_Strict):
    """HTTP basic authentication, user name and password from the environment (or a file)."""

    kind: Literal["basic"]
    username_env: EnvName
    password_env: EnvName | None = None
    password_file: SecretFile | None = None

    @model_validator(mode="after")
    def _one_source(self) -> BasicAuth:
        self._exactly_one("password_env", "password_file")
        return self


class ApiKeyAuth(_Strict):
    """An API key in a header or a query parameter (`header: X-Api-Key` or `query: api_key`)."""

    kind: Literal["api_key"]
    key_env: EnvName | None = None
    key_file: SecretFile | None = None
    header: HeaderName | None = None
    query: ParamName | None = None

    @model_validator(mode="after")
    def _one_each(self) -> ApiKeyAuth:
        self._exactly_one("key_env", "key_file")
        self._exactly_one("header", "query", " (where the key is sent)")
        return self


class OAuth2ClientCredentials(_Strict):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): a token from `token_url`, cached until it
    expires (less `expiry_margin` seconds), fetched again once when the API answers 401."""

    kind: Literal["oauth2_client_credentials"]
    token_url: str = Field(
        description="http(s)://... or a path (`/oauth/token`) on the base URL's host, without credentials."
    )
    client_id_env: EnvName
    client_secret_env: EnvName | None = None
    client_secret_file: SecretFile | None = None
    scope: Annotated[str, StringConstraints(pattern=r"^[\x21\x23-\x5b\x5d-\x7e ]+$")] | None = None
    audience: str | None = None
    client_auth: Literal["basic", "body"] = Field(
        "basic", description="basic: HTTP basic with the client id and secret; body: both as form fields."
    )
    expiry_margin: float = Field(30.0, ge=0, le=3600)

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        if not re.fullmatch(r"(https?://[^\s@/?#]+)?/[^\s?#]*", value):
            raise ValueError(
                "a token URL is http(s)://host[:port]/path or /path, without credentials or query"
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> OAuth2ClientCredentials:
        self._exactly_one("client_secret_env", "client_secret_file")
        return self


Auth = Annotated[BearerAuth | BasicAuth | ApiKeyAuth | OAuth2ClientCredentials, Field(discriminator="kind")]


# ------------------------------------------------------------------------------------ requests


class RateLimit(_Strict):
    per_second: float | None = Field(None, gt=0, le=10_000, description="Requests a second, client side.")
    burst: int | None = Field(None, ge=1, le=10_000, description="Requests at once (default: per_second).")
    max_retry_after: float = Field(
        30.0,
        ge=0,
        le=600,
        description="The longest `Retry-After` of a 429 waited out; longer counts as down.",
    )


class Retry(_Strict):
    """Overrides the pipeline's attempts and first backoff (DSR_LOCATOR_SYSTEM_*) for this API."""

    attempts: int | None = Field(None, ge=1, le=10)
    backoff: float | None = Field(None, ge=0, le=60)


QueryValue = str | int | bool
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class Request(_Strict):
    """One HTTP request: `path` is relative to the base URL (`connection.base_url` or `env`)."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset()

    method: Method = "GET"
    path: str
    query: dict[ParamName, QueryValue] = {}
    body: JsonValue = None
    headers: dict[HeaderName, str] = {}

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or re.search(r"[\s?#]|://", value):
            raise ValueError(
                "a path starts with '/' and has no spaces, '?' or '#' (query parameters go in `query`)"
            )
        _check_string(value, cls.ALLOWED, "path", whole=frozenset(), barred=_PATH_BARRED)
        return value

    @field_validator("query")
    @classmethod
    def _query(cls, value: dict[str, QueryValue]) -> dict[str, QueryValue]:
        for name, template in value.items():
            if isinstance(template, str):
                where = f"query parameter {name!r}"
                _check_string(template, cls.ALLOWED, where, whole=LIST_PLACEHOLDERS, barred=_QUERY_BARRED)
        return value

    @field_validator("body")
    @classmethod
    def _body(cls, value: JsonValue) -> JsonValue:
        _check_body(value, cls.ALLOWED)
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            _check_header(name, text)
        return value

    def uses(self) -> set[str]:
        """The placeholders this request's templates name."""
        return placeholders(self.path) | placeholders(dict(self.query)) | placeholders(self.body)


def _check_header(name: str, value: str) -> None:
    if _CREDENTIAL_HEADER.search(name):
        raise ValueError(
            f"header {name!r} looks like a credential: name it under `api.auth` (by environment "
            "variable or secret file), never in the catalogue"
        )
    if PLACEHOLDER.search(value) or re.search(r"[\r\n\x00]", value):
        raise ValueError(f"header {name!r} is fixed text (no placeholders, no line breaks)")


class _Sized(_Strict):
    size_param: ParamName | None = None
    size: int | None = Field(None, ge=1, le=10_000, description="Records a page, sent as `size_param`.")

    @model_validator(mode="after")
    def _size_both(self) -> _Sized:
        if (self.size_param is None) != (self.size is None):
            raise ValueError("give both `size_param` and `size`, or neither")
        return self


class PageNumbers(_Sized):
    """`?page=1,2,...`; the next page's number at `next` in the answer (null: the last page), else
    pages until one is empty."""

    kind: Literal["page"]
    param: ParamName = "page"
    start: int = Field(1, ge=0)
    next: ResponsePath | None = None


class OffsetLimit(_Strict):
    """`?offset=0&limit=100`, on by the records received; stops at `total` (a path in the answer)
    when given, else at an empty page."""

    kind: Literal["offset"]
    param: ParamName = "offset"
    limit_param: ParamName = "limit"
    limit: int = Field(100, ge=1, le=10_000)
    start: int = Field(0, ge=0)
    total: ResponsePath | None = None


class CursorPages(_Sized):
    """The next page's cursor at `next` in the answer (null or empty: the last page), sent as `param`."""

    kind: Literal["cursor"]
    param: ParamName = "cursor"
    next: ResponsePath


class LinkPages(_Sized):
    """The `Link: <...>; rel="next"` header (RFC 8288), on the API's own host only."""

    kind: Literal["link"]


Pagination = Annotated[PageNumbers | OffsetLimit | CursorPages | LinkPages, Field(discriminator="kind")]


class _Listing(Request):
    """A request whose answer holds a list of records (at `records`), perhaps over pages."""

    records: ResponsePath = Field(".", description="Where the list of records is in the answer.")
    pagination: Pagination | None = None
    max_pages: int = Field(100, ge=1, le=100_000, description="More pages than this: the system is unknown.")
    batch: int = Field(50, ge=1, le=1000, description="Values per request where a template takes a list.")
    join: Annotated[str, StringConstraints(min_length=1, max_length=3)] | None = Field(
        None, description="A list in a query parameter joined with this (`,`) instead of repeating it."
    )
    not_found: Literal["unknown", "empty"] = Field(
        "unknown", description="What a 404 means: `empty` (no records), or the system is unknown."
    )


class Search(_Listing):
    """Records whose column `by` holds the values searched: an identifier column, or the table's
    `belongs_to` column (the values are then the parent rows' keys)."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset({"value", "values"})

    by: ColumnName
    filter: bool = Field(
        True,
        description="Keep only records whose `by` column equals a value searched (an API's search may be "
        "fuzzy); false trusts the answer, and fills an absent `by` field with the value (nested resources).",
    )

    @model_validator(mode="after")
    def _one_placeholder(self) -> Search:
        used = self.uses() & self.ALLOWED
        if len(used) != 1:
            raise ValueError("a search names exactly one of {value} (one request per value) or {values}")
        if not self.filter and "values" in used:
            raise ValueError("`filter: false` needs {value}: the records of a batch must be told apart")
        return self

    @property
    def batched(self) -> bool:
        return "values" in self.uses()


class Read(_Listing):
    """Records by primary key: `{key}` and a single record at `record` (404: gone), or `{keys}`
    (or `{key}`) and a list at `records`."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset({"key", "keys"})

    record: ResponsePath | None = Field(
        None, description="Where the one record is in the answer (`.`: it is)."
    )
    records: ResponsePath | None = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _shape(self) -> Read:
        used = self.uses() & self.ALLOWED
        if len(used) != 1:
            raise ValueError("a read names exactly one of {key} (one request per key) or {keys}")
        if self.record is not None and self.records is not None:
            raise ValueError("a read answers one `record` or a list of `records`, not both")
        if "keys" in used and self.records is None:
            raise ValueError("a read by {keys} answers a list: say where it is (`records`)")
        if self.records is None and self.pagination is not None:
            raise ValueError("only a list of `records` has pages")
        return self

    @property
    def batched(self) -> bool:
        return "keys" in self.uses()

    @property
    def listing(self) -> bool:
        return self.records is not None


class Delete(Request):
    """Deletes the record `{key}` (a 404 or 410: it was already gone)."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset({"key"})

    method: Method = "DELETE"

    @model_validator(mode="after")
    def _key(self) -> Delete:
        if "key" not in self.uses():
            raise ValueError("a delete names the record: {key}")
        return self


class Update(Request):
    """Sets the columns that differ on record `{key}`: the body holds `{changes}`, the changed
    columns through the resource's `fields` (a JSON null empties one). Anonymisation, nulling and
    rectification are all updates."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset({"key", "changes"})

    method: Method = "PATCH"
    body: JsonValue = "{changes}"

    @model_validator(mode="after")
    def _changes(self) -> Update:
        if "key" not in self.uses():
            raise ValueError("an update names the record: {key}")
        if "changes" not in placeholders(self.body):
            raise ValueError("an update's body holds {changes}")
        return self


class Restrict(Request):
    """Sets the restriction mark (Art. 18) of record `{key}`: `{restricted}` is true or false,
    `{changes}` the mark's field through `fields` (the default body)."""

    ALLOWED: ClassVar[frozenset[str]] = frozenset({"key", "restricted", "changes"})

    method: Method = "PATCH"
    body: JsonValue = "{changes}"

    @model_validator(mode="after")
    def _key(self) -> Restrict:
        if "key" not in self.uses():
            raise ValueError("a restrict names the record: {key}")
        return self


class HealthCheck(Request):
    """A cheap request any 2xx answer of which means the API is up."""


class Resource(_Strict):
    """One table's records in the API."""

    fields: dict[ColumnName, RecordField] = Field(
        {},
        description="column -> the record's field holding it (`contact.email`); default: the column's name.",
    )
    search: list[Search] = []
    read: Read | None = None
    delete: Delete | None = None
    update: Update | None = None
    restrict: Restrict | None = None
    unrestrict: Restrict | None = Field(
        None, description="Lifts the mark when the API has its own request for that (else `restrict`)."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Resource:
        seen: set[str] = set()
        for search in self.search:
            if search.by in seen:
                raise ValueError(f"two searches by {search.by!r}")
            seen.add(search.by)
        if (
            self.restrict is not None
            and self.unrestrict is None
            and not self.restrict.uses() & {"restricted", "changes"}
        ):
            raise ValueError("restrict without `unrestrict` sends {restricted} or {changes}")
        paths = sorted(self.fields.values())
        for first, second in itertools.pairwise(paths):
            if first == second or second.startswith(f"{first}."):
                raise ValueError(f"fields {first!r} and {second!r} overlap")
        return self

    def field(self, column: str) -> str:
        return self.fields.get(column, column)


class HttpApi(_Strict):
    """How to talk to the API: auth, headers, limits, and a resource per catalogued table."""

    auth: Auth | None = Field(None, description="None: the API needs no credentials (a private network).")
    headers: dict[HeaderName, str] = Field({}, description="Sent with every request (no credentials).")
    timeout: float | None = Field(
        None, gt=0, le=300, description="Seconds per request (default: the pipeline's system timeout)."
    )
    rate_limit: RateLimit | None = None
    retry: Retry | None = None
    max_response_bytes: int = Field(16 * 1024 * 1024, ge=1024, le=1024**3)
    health: HealthCheck | None = None
    resources: dict[ColumnName, Resource] = Field(min_length=1)

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            _check_header(name, text)
        return value


# ------------------------------------------------------------------------------- cross-checks


def api_problems(
    system: System, broken: frozenset[str] = frozenset()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(path, message) for everything in `system.api` that does not fit its tables; nothing about
    tables in `broken` (their own errors are reported)."""
    api = getattr(system, "api", None)
    if api is None:
        return
    tables: Mapping[str, Any] = system.tables
    for name, resource in api.resources.items():
        at: tuple[str | int, ...] = ("api", "resources", name)
        if name in broken:
            continue
        table = tables.get(name)
        if table is None:
            yield at, f"no table {name!r} in this system (a resource describes one of its tables)"
            continue
        yield from _resource_problems(system, name, table, resource, at, broken)
    for name, table in tables.items():
        if name in broken or name in api.resources:
            continue
        searchable = _searchable(table)
        if searchable:
            yield (
                ("api", "resources"),
                f"table {name!r} is searched by {', '.join(searchable)}: describe `resources.{name}` "
                "with a search by each",
            )


def _searchable(table: Any) -> list[str]:
    columns = [name for name, column in table.columns.items() if column.identifier is not None]
    if table.belongs_to is not None:
        columns.append(table.belongs_to)
    return columns


def _resource_problems(
    system: System,
    name: str,
    table: Any,
    resource: Resource,
    at: tuple[str | int, ...],
    broken: frozenset[str],
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if len(table.primary_key) != 1:
        yield at, "the http engine needs a one-column primary key (it is the record's {key})"
    for column in resource.fields:
        if column not in table.columns:
            yield (*at, "fields", column), f"no column {column!r} in table {name!r}"
    searched = set()
    for index, search in enumerate(resource.search):
        searched.add(search.by)
        column = table.columns.get(search.by)
        if column is None:
            yield (*at, "search", index, "by"), f"no column {search.by!r} in table {name!r}"
        elif column.identifier is None and search.by != table.belongs_to:
            yield (
                (*at, "search", index, "by"),
                f"column {search.by!r} is neither an identifier column nor the table's belongs_to",
            )
    missing = [column for column in _searchable(table) if column not in searched]
    if missing:
        yield (
            (*at, "search"),
            f"no search by {', '.join(repr(c) for c in missing)}: rows found by it in other systems "
            "would go unfound here",
        )
    for operation in ("update", "restrict", "unrestrict"):
        if getattr(resource, operation) is not None and resource.read is None:
            yield (*at, operation), f"{operation} needs a `read` (only what differs is sent)"
    restriction = table.restriction
    for operation in ("restrict", "unrestrict"):
        if getattr(resource, operation) is None:
            continue
        if restriction is None:
            yield (*at, operation), f"table {name!r} has no restriction column to set"
        elif "." in restriction.column:
            reference = restriction.column.split(".", 1)[0]
            target = getattr(table.columns.get(reference), "references", None) or "?"
            yield (
                (*at, operation),
                f"rows of {name!r} are restricted through {reference!r}: describe {operation} on "
                f"`resources.{target.split('.')[0]}`",
            )
