"""An HTTP system's draft from its OpenAPI 3 document, or a commented template when it has none. Pure.

Each collection the document lists (`GET /v1/subscribers` answering a list of records) is a table;
its record's properties are the columns (nested objects flattened: `attendee.email` is the column
`email`, `fields` maps it back). From the operations:
- a query parameter the name of which suggests an identifier becomes a `search` by that column (a
  repeatable one takes a batch, `{values}`), with the pagination the parameters and the answer
  show (`page` + `next_page`, `cursor` + `next_cursor`, `offset` + `total`, a `Link` header);
- `GET`/`PATCH`/`DELETE` on `/collection/{id}` become `read`, `update` and `delete`; a `PUT` on
  `/collection/{id}/restriction` (or a boolean `restricted` field) the `restrict`;
- the security scheme the auth (credentials by environment variable, never their values);
- `GET /ping` or `/health` the health check.
An API is not sampled: its columns are suggested by name and by a property's `format: email`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from services.catalogue.model import ColumnType, IdentifierType
from services.catalogue.scaffold.classify import CATEGORY, ColumnFacts, Suggestion, classify
from services.catalogue.scaffold.draft import NAME, ColumnDraft, SystemDraft, TableDraft, finish_table
from services.catalogue.scaffold.names import IDENTIFIER_HINTS, hints

PAGE_SIZE = 100
_VERSION = re.compile(r"^(v\d+(\.\d+)*|api|rest)$", re.IGNORECASE)
_GENERIC_LEAVES = frozenset(
    {"name", "title", "text", "value", "type", "kind", "id", "date", "status", "label"}
)
_SIZE_PARAMS = ("per_page", "page_size", "pagesize", "limit", "size", "count")
_HEALTH = re.compile(r"^/(?:[^/]+/)*(ping|health|healthz|status|heartbeat)$")


class OpenApiError(ValueError):
    """The document is not an OpenAPI 3 document we can read; the message says what is missing."""


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]
    schema: Mapping[str, Any]


def draft_openapi(
    system: str, document: Mapping[str, Any], *, base_url_env: str, token_env: str | None = None
) -> SystemDraft:
    """The draft of the HTTP system `document` describes (raises `OpenApiError`)."""
    version = str(document.get("openapi", ""))
    if not version.startswith("3."):
        raise OpenApiError("not an OpenAPI 3 document (no `openapi: 3.x` field)")
    paths = document.get("paths")
    if not isinstance(paths, Mapping) or not paths:
        raise OpenApiError("the document has no `paths`")
    spec = _Spec(document)
    tables: list[TableDraft] = []
    resources: dict[str, dict[str, Any]] = {}
    for path, listing in spec.collections():
        name = _table_name(path)
        if not NAME.match(name) or name in resources:
            continue
        table, resource = _resource(spec, name, path, listing)
        if table is not None:
            tables.append(table)
            resources[name] = resource
    if not tables:
        raise OpenApiError("no collection of records in the document (a GET answering a list of objects)")
    api: dict[str, Any] = {}
    auth = spec.auth(system, token_env)
    if auth is not None:
        api["auth"] = auth
    api["headers"] = {"Accept": "application/json"}
    health = spec.health()
    if health is not None:
        api["health"] = {"path": health}
    api["resources"] = resources
    title = str((document.get("info") or {}).get("title") or "the API")
    return SystemDraft(
        name=system,
        connection={"engine": "http", "env": base_url_env},
        connection_note="the API's base URL (the paths below are relative to it)",
        source=f"the OpenAPI document of {title} (OpenAPI {version})",
        tables=tuple(tables),
        api=api,
        api_note="Read from the OpenAPI document: check each search, page size and the auth's variables.",
        evidence=(
            f"{len(tables)} collections and {sum(len(t.columns) for t in tables)} fields read from the "
            "OpenAPI document; an API is not sampled: columns are suggested by name and format",
        ),
    )


class _Spec:
    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.paths: Mapping[str, Mapping[str, Any]] = document["paths"]

    def resolve(self, node: Any, depth: int = 0) -> Mapping[str, Any]:
        """A schema with local `$ref`s followed (`#/components/schemas/X`); `{}` when unknown."""
        while isinstance(node, Mapping) and "$ref" in node and depth < 32:
            ref = str(node["$ref"])
            if not ref.startswith("#/"):
                return {}
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = (
                    target.get(part.replace("~1", "/").replace("~0", "~"))
                    if isinstance(target, Mapping)
                    else None
                )
            node, depth = target, depth + 1
        if isinstance(node, Mapping):
            for key in ("allOf",):
                if key in node:
                    merged: dict[str, Any] = {"type": "object", "properties": {}}
                    for part in node[key]:
                        resolved = self.resolve(part, depth + 1)
                        merged["properties"].update(resolved.get("properties") or {})
                    return merged
            return node
        return {}

    def answer(self, operation: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
        """The 2xx JSON answer's schema and headers."""
        for status, response in sorted((operation.get("responses") or {}).items()):
            if str(status).startswith("2"):
                response = self.resolve(response)
                content = response.get("content") or {}
                media: Any = content.get("application/json") or next(iter(content.values()), {})
                return self.resolve((media or {}).get("schema")), response.get("headers") or {}
        return {}, {}

    def collections(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for path, item in self.paths.items():
            get = (item or {}).get("get")
            if isinstance(get, Mapping) and not path.rstrip("/").endswith("}"):
                schema, _ = self.answer(get)
                if _records_path(self, schema) is not None:
                    yield path, get

    def parameters(self, path: str, operation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        shared = (self.paths.get(path) or {}).get("parameters") or []
        return [self.resolve(p) for p in [*shared, *(operation.get("parameters") or [])]]

    def auth(self, system: str, token_env: str | None) -> dict[str, Any] | None:
        schemes = ((self.document.get("components") or {}).get("securitySchemes")) or {}
        prefix = system.upper()
        for scheme in (self.resolve(s) for s in schemes.values()):
            kind, where = scheme.get("type"), str(scheme.get("scheme", "")).lower()
            if kind == "http" and where == "bearer":
                return {"kind": "bearer", "token_env": token_env or f"{prefix}_API_TOKEN"}
            if kind == "http" and where == "basic":
                return {
                    "kind": "basic",
                    "username_env": f"{prefix}_API_USER",
                    "password_env": f"{prefix}_API_PASSWORD",
                }
            if kind == "apiKey" and scheme.get("in") in ("header", "query"):
                return {
                    "kind": "api_key",
                    "key_env": token_env or f"{prefix}_API_KEY",
                    str(scheme["in"]): str(scheme.get("name", "X-API-Key")),
                }
            if kind == "oauth2":
                flow = (scheme.get("flows") or {}).get("clientCredentials")
                if flow and flow.get("tokenUrl"):
                    return {
                        "kind": "oauth2_client_credentials",
                        "token_url": str(flow["tokenUrl"]),
                        "client_id_env": f"{prefix}_CLIENT_ID",
                        "client_secret_env": f"{prefix}_CLIENT_SECRET",
                    }
        return None

    def health(self) -> str | None:
        for path, item in self.paths.items():
            if _HEALTH.match(path) and isinstance((item or {}).get("get"), Mapping):
                return path
        return None


def _records_path(spec: _Spec, schema: Mapping[str, Any]) -> str | None:
    """Where the list of record objects is in an answer: `.`, `data`, `data.items`; None: no list."""

    def walk(node: Mapping[str, Any], at: tuple[str, ...], depth: int) -> str | None:
        if node.get("type") == "array":
            items = spec.resolve(node.get("items"))
            if items.get("type") == "object" or items.get("properties"):
                return ".".join(at) or "."
            return None
        if depth > 3:
            return None
        for key, child in (node.get("properties") or {}).items():
            found = walk(spec.resolve(child), (*at, str(key)), depth + 1)
            if found is not None:
                return found
        return None

    return walk(schema, (), 0)


def _at(spec: _Spec, schema: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    node = schema
    for part in () if path == "." else path.split("."):
        node = spec.resolve((node.get("properties") or {}).get(part))
    return node


def _find(spec: _Spec, schema: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    """The dotted path of a property named one of `names` anywhere in the answer (not in records)."""

    def walk(node: Mapping[str, Any], at: tuple[str, ...], depth: int) -> str | None:
        for key in node.get("properties") or {}:
            if str(key).lower() in names:
                return ".".join((*at, str(key)))
        if depth > 3:
            return None
        for key, child in (node.get("properties") or {}).items():
            resolved = spec.resolve(child)
            if resolved.get("type") != "array":
                found = walk(resolved, (*at, str(key)), depth + 1)
                if found is not None:
                    return found
        return None

    return walk(schema, (), 0)


def _table_name(path: str) -> str:
    parts = [p for p in path.strip("/").split("/") if p and not p.startswith("{") and not _VERSION.match(p)]
    name = "_".join(
        re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", p).lower()) for p in parts
    )
    return name.strip("_")


def _fields(spec: _Spec, record: Mapping[str, Any]) -> list[_Field]:
    found: list[_Field] = []

    def walk(node: Mapping[str, Any], at: tuple[str, ...]) -> None:
        for key, child in (node.get("properties") or {}).items():
            resolved = spec.resolve(child)
            if resolved.get("type") == "object" or (resolved.get("properties") and "type" not in resolved):
                if len(at) < 4:
                    walk(resolved, (*at, str(key)))
            elif resolved.get("type") != "array":
                found.append(_Field((*at, str(key)), resolved))

    walk(record, ())
    return found


def _column_type(schema: Mapping[str, Any]) -> ColumnType:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    fmt = schema.get("format")
    if kind == "integer":
        return ColumnType.bigint if fmt == "int64" else ColumnType.integer
    if kind == "number":
        return ColumnType.numeric
    if kind == "boolean":
        return ColumnType.boolean
    if fmt == "date":
        return ColumnType.date
    if fmt == "date-time":
        return ColumnType.timestamptz
    return ColumnType.text


def _column_names(fields: list[_Field]) -> dict[tuple[str, ...], str]:
    leaves: dict[str, int] = {}
    for f in fields:
        leaves[f.path[-1]] = leaves.get(f.path[-1], 0) + 1
    names: dict[tuple[str, ...], str] = {}
    for f in fields:
        leaf = f.path[-1]
        nested = len(f.path) > 1
        raw = (
            "_".join(f.path[-2:])
            if nested and (leaves[leaf] > 1 or leaf.lower() in _GENERIC_LEAVES)
            else leaf
        )
        name = re.sub(r"[^a-z0-9]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw).lower()).strip("_")
        if not name or not name[0].isalpha():
            name = f"f_{name}"
        while name in names.values():
            name = f"{name}_"
        names[f.path] = name[:63]
    return names


def _resource(
    spec: _Spec, name: str, path: str, listing: Mapping[str, Any]
) -> tuple[TableDraft | None, dict[str, Any]]:
    schema, headers = spec.answer(listing)
    records = _records_path(spec, schema) or "."
    array = _at(spec, schema, records)
    record = spec.resolve(array.get("items"))
    fields = _fields(spec, record)
    if not fields:
        return None, {}
    names = _column_names(fields)
    columns: list[ColumnDraft] = []
    for f in fields:
        column = names[f.path]
        facts = ColumnFacts(table=name, name=column, type=_column_type(f.schema), parents=f.path[:-1])
        notes = ["the record's id: the primary key"] if f.path == ("id",) else []
        if f.schema.get("format") == "email":
            notes.append("the document gives it `format: email`")
        suggestion = classify(facts, None, notes=notes)
        if (
            f.schema.get("format") == "email"
            and facts.type is ColumnType.text
            and suggestion.identifier is None
        ):
            suggestion = _as(suggestion, IdentifierType.email)
        field = ".".join(f.path)
        columns.append(ColumnDraft(column, facts.type, suggestion, field=field if field != column else None))
    key = "id" if "id" in {c.name for c in columns} else None
    item = _item_path(spec, path)
    resource: dict[str, Any] = {}
    mapped = {c.name: c.field for c in columns if c.field}
    if mapped:
        resource["fields"] = mapped
    searches = _searches(spec, path, listing, columns, records, schema, headers)
    if searches:
        resource["search"] = searches
    if item is not None:
        resource.update(_item_operations(spec, item, columns))
    table = finish_table(name, (key,) if key else (), columns)
    return table, resource


def _as(suggestion: Suggestion, identifier: IdentifierType) -> Suggestion:
    return replace(suggestion, identifier=identifier, categories=(CATEGORY[identifier],), free_text=False)


def _item_path(spec: _Spec, collection: str) -> str | None:
    base = collection.rstrip("/")
    for path in spec.paths:
        rest = path[len(base) :]
        if path.startswith(base + "/") and re.fullmatch(r"/\{[^/{}]+\}", rest):
            return path
    return None


def _with_key(path: str) -> str:
    return re.sub(r"\{[^/{}]+\}", "{key}", path)


def _item_operations(spec: _Spec, item: str, columns: list[ColumnDraft]) -> dict[str, Any]:
    operations = spec.paths.get(item) or {}
    found: dict[str, Any] = {}
    keyed = _with_key(item)
    if isinstance(operations.get("get"), Mapping):
        schema, _ = spec.answer(operations["get"])
        record = "."
        for key, child in (schema.get("properties") or {}).items():
            if spec.resolve(child).get("type") == "object" and key in ("data", "record", "result", "item"):
                record = str(key)
        found["read"] = {"path": keyed, "record": record}
    if isinstance(operations.get("delete"), Mapping):
        found["delete"] = {"path": keyed}
    for method in ("patch", "put"):
        if isinstance(operations.get(method), Mapping) and "read" in found:
            update: dict[str, Any] = {"path": keyed}
            if method == "put":
                update["method"] = "PUT"
            found["update"] = update
            break
    restriction_path = next(
        (p for p in spec.paths if p.startswith(item + "/") and re.search(r"restrict", p[len(item) :], re.I)),
        None,
    )
    marks = [
        c.name for c in columns if c.type is ColumnType.boolean and c.name in ("restricted", "is_restricted")
    ]
    if restriction_path and isinstance((spec.paths[restriction_path] or {}).get("put"), Mapping):
        body = spec.resolve(
            ((spec.paths[restriction_path]["put"].get("requestBody") or {}).get("content") or {})
            .get("application/json", {})
            .get("schema")
        )
        flag = next(iter(body.get("properties") or {"restricted": None}))
        found["restrict"] = {
            "method": "PUT",
            "path": _with_key(restriction_path),
            "body": {flag: "{restricted}"},
        }
    elif marks and "update" in found:
        found["restrict"] = {"path": keyed}
    return found


def _searches(
    spec: _Spec,
    path: str,
    listing: Mapping[str, Any],
    columns: list[ColumnDraft],
    records: str,
    schema: Mapping[str, Any],
    headers: Mapping[str, Any],
) -> list[dict[str, Any]]:
    parameters = [p for p in spec.parameters(path, listing) if p.get("in") == "query"]
    names = {str(p.get("name")) for p in parameters}
    pagination = _pagination(spec, names, schema, headers)
    size = next((p for p in _SIZE_PARAMS if p in names), None)
    found: list[dict[str, Any]] = []
    for parameter in parameters:
        param = str(parameter.get("name"))
        named = [h for h in hints(param) if h in IDENTIFIER_HINTS]
        if not named:
            continue
        column = next(
            (
                c
                for c in columns
                if c.suggestion.identifier is not None and c.suggestion.identifier.value == named[0].value
            ),
            None,
        )
        if column is None or any(s["by"] == column.name for s in found):
            continue
        repeatable = spec.resolve(parameter.get("schema")).get("type") == "array"
        query: dict[str, Any] = {param: "{values}" if repeatable else "{value}"}
        if size is not None and (pagination is None or pagination.get("kind") in ("page", "cursor")):
            query[size] = PAGE_SIZE
        search: dict[str, Any] = {"by": column.name, "path": path, "query": query}
        if records != ".":
            search["records"] = records
        if pagination is not None:
            search["pagination"] = pagination
        found.append(search)
    return found


def _pagination(
    spec: _Spec, names: set[str], schema: Mapping[str, Any], headers: Mapping[str, Any]
) -> dict[str, Any] | None:
    size = next((p for p in _SIZE_PARAMS if p in names), None)
    if any(str(h).lower() == "link" for h in headers):
        return {"kind": "link", "size_param": size, "size": PAGE_SIZE} if size else {"kind": "link"}
    for param in ("cursor", "after", "page_token", "next_token", "starting_after"):
        if param in names:
            following = _find(
                spec, schema, ("next_cursor", "next_page_token", "next_token", "cursor", "next")
            )
            if following:
                return (
                    {"kind": "cursor", "param": param, "next": following}
                    if param != "cursor"
                    else {
                        "kind": "cursor",
                        "next": following,
                    }
                )
    if "page" in names:
        page: dict[str, Any] = {"kind": "page"}
        following = _find(spec, schema, ("next_page",))
        if following:
            page["next"] = following
        return page
    if "offset" in names:
        offset: dict[str, Any] = {"kind": "offset", "limit": PAGE_SIZE}
        if size and size != "limit":
            offset["limit_param"] = size
        total = _find(spec, schema, ("total", "total_count", "count"))
        if total:
            offset["total"] = total
        return offset
    return None


# -------------------------------------------------------------------------------------- template


def http_template(system: str, *, base_url_env: str, token_env: str | None = None) -> str:
    """A commented template of an HTTP system without an OpenAPI document: what to fill in, where."""
    token = token_env or f"{system.upper()}_API_TOKEN"
    return f"""\
# A template of the {system} system, an HTTP API without an OpenAPI document, written by
# `dsr catalogue scaffold --http-template`. Fill in every field from the API's own documentation
# (catalogue/README.md, "A system"; catalogue/examples/newsletter_saas.yaml is a complete example),
# then delete every `review` line: `dsr catalogue check` refuses the file until then. Texts are
# written in both languages, bokmål (nb) and English (en), as the subject is told them.
title: {{nb: "", en: ""}}      # the product as people call it
description: {{nb: "", en: ""}}   # what it is for, whose data it holds
review: suggested
connection:
  engine: http
  env: {base_url_env}        # the API's base URL (https://api.example.com)
role:
  kind: controller           # or processor, with controller: {{table, column, description: {{nb, en}}}}
api:
  auth:
    kind: bearer             # or basic, api_key, oauth2_client_credentials
    token_env: {token}       # the variable's name; the token itself is never written here
  headers: {{Accept: application/json}}
  timeout: 5
  rate_limit: {{per_second: 10, max_retry_after: 30}}
  health: {{path: /ping}}      # any cheap GET that answers 2xx when the API is up
  resources:
    contacts:                # one resource per table below
      fields: {{}}             # column -> the record's field when it differs (email: contact.email)
      search:                # one search per identifier column, or the table's belongs_to
        - by: email
          path: /contacts    # relative to the base URL
          query: {{email: "{{value}}"}}   # {{values}}: a batch (the parameter repeated)
          records: data      # where the list is in the answer (`.`: the answer itself)
          pagination: {{kind: page, next: meta.next_page}}   # or offset, cursor, link
      read: {{path: "/contacts/{{key}}", record: data}}
      delete: {{path: "/contacts/{{key}}"}}
      update: {{path: "/contacts/{{key}}"}}   # PATCH with the changed fields
tables:
  contacts:
    review: suggested
    description: {{nb: "", en: ""}}
    purpose: {{nb: "", en: ""}}   # why its data is processed (Art. 15(1)(a))
    legal_basis: []          # 6(1)(a)-(f); a 9(2)(a)-(j) basis for a special category
    recipients: []           # parties.yaml ids told of corrections and erasures (Art. 19)
    sources: []              # parties.yaml ids the data came from (Art. 14(2)(f))
    retention:               # {{kind: after_date|on_event|follows|purpose|controller, description: {{nb, en}}}}
    erasure:                 # {{strategy: delete_row|null_columns|anonymise|keep|refer_to_controller}}
    primary_key: [id]        # the record's id: the {{key}} above
    columns:
      id: {{type: text, categories: [system.key], review: suggested}}
      email: {{type: text, categories: [user.contact.email], identifier: email, review: suggested}}
"""
