"""`dsr catalogue scaffold`: read the live system, draft its file, say what was found (counts only).

Nothing is written when anything stands in the way (a name the catalogue cannot hold, a table the
role may not read, an existing file without `--force`): every problem is listed, exit code 1. The
draft goes to `<out>/systems/<system>.yaml` (written whole or not at all), or to stdout (`--out -`)
with the report on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from rich.console import Console

from services.catalogue.scaffold.draft import (
    NAME,
    SystemDraft,
    column_summary,
    draft_database,
    plural,
    problems,
    render,
)
from services.catalogue.scaffold.introspect import ScaffoldError, read_database
from services.catalogue.scaffold.openapi import OpenApiError, draft_openapi, http_template

_ENV = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class Request:
    system: str
    url_env: str | None = None
    openapi: str | None = None
    http_template: bool = False
    base_url_env: str | None = None
    token_env: str | None = None
    out: str | None = None
    schema: str | None = None
    sample: int = 20
    timeout: float = 5.0
    exclude: tuple[str, ...] = ()
    force: bool = False


class _Refused(Exception):
    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def run(request: Request, *, env: dict[str, str] | None = None) -> int:
    """Exit code: 0 written, 1 refused (nothing written), 2 a usage error."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    environ = dict(os.environ if env is None else env)
    try:
        target = _target(request)
        text, draft = _draft(request, environ, err)
        _write(text, target, request.force)
    except _Refused as refused:
        for problem in refused.problems:
            err.print(problem, markup=False)
        err.print(f"{len(refused.problems)} problem(s): nothing written", style="red", markup=False)
        return 1
    except _Usage as usage:
        err.print(str(usage), style="red", markup=False)
        return 2
    if target is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    entries = draft.entries if draft is not None else 1
    where = "stdout" if target is None else str(target)
    err.print(
        f"wrote {where}: a draft with {entries} entries to review (`dsr catalogue check` lists them)",
        markup=False,
    )
    return 0


class _Usage(Exception):
    pass


def _target(request: Request) -> Path | None:
    if not NAME.match(request.system):
        raise _Usage("SYSTEM: lower case letters, digits and '_', starting with a letter (at most 63)")
    sources = sum((request.url_env is not None, request.openapi is not None, request.http_template))
    if sources != 1:
        raise _Usage("name exactly one of --url-env (a database), --openapi or --http-template (an HTTP API)")
    for option, value in (
        ("--url-env", request.url_env),
        ("--base-url-env", request.base_url_env),
        ("--token-env", request.token_env),
    ):
        if value is not None and not _ENV.match(value):
            raise _Usage(f"{option}: an environment variable's name (upper case letters, digits and '_')")
    if request.out == "-":
        return None
    if request.out is None:
        from services.runtime.settings import Settings

        root = Path(Settings().catalogue_dir)
    else:
        root = Path(request.out)
    if not root.is_dir():
        raise _Usage(f"--out: {root} is not a directory (the catalogue directory, or - for stdout)")
    target = root / "systems" / f"{request.system}.yaml"
    if target.exists() and not request.force:
        raise _Refused(f"{target} exists: it may be hand-written; --force replaces it")
    return target


def _draft(request: Request, env: dict[str, str], err: Console) -> tuple[str, SystemDraft | None]:
    base_url_env = request.base_url_env or f"{request.system.upper()}_API_URL"
    if request.http_template:
        return http_template(request.system, base_url_env=base_url_env, token_env=request.token_env), None
    if request.openapi is not None:
        document = _document(request.openapi, request.token_env, env, request.timeout)
        try:
            draft = draft_openapi(
                request.system, document, base_url_env=base_url_env, token_env=request.token_env
            )
        except OpenApiError as exc:
            raise _Refused(f"{request.openapi}: {exc}") from None
        _report(draft, err, f"{plural(len(draft.tables), 'collection')} in the OpenAPI document")
        return render(draft), draft
    assert request.url_env is not None
    url = env.get(request.url_env)
    if not url:
        raise _Refused(f"environment variable {request.url_env} is not set (it holds the database's URL)")
    try:
        reading = asyncio.run(
            read_database(
                url,
                schema=request.schema,
                sample=request.sample,
                timeout=request.timeout,
                exclude=request.exclude,
            )
        )
    except ScaffoldError as exc:
        raise _Refused(f"{request.url_env}: {exc}") from None
    found = problems(reading)
    if found:
        raise _Refused(*found)
    draft = draft_database(request.system, reading, request.url_env)
    sampled = sum(len(sample) for sample in reading.samples.values())
    _report(
        draft,
        err,
        f"{plural(len(draft.tables), 'table')}, {plural(sum(len(t.columns) for t in draft.tables), 'column')}"
        f" read from {reading.schema.dialect}; {plural(sampled, 'value')} sampled in "
        f"{plural(reading.statements, 'read-only statement')} ({reading.seconds:.1f} s)",
    )
    return render(draft), draft


def _report(draft: SystemDraft, err: Console, headline: str) -> None:
    """What was found, column by column, as counts: never a value."""
    err.print(headline, markup=False)
    err.print(f"{plural(len(draft.identifiers), 'identifier column')} suggested", markup=False)
    for line in column_summary(draft):
        err.print(line, markup=False)


def _document(source: str, token_env: str | None, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """The OpenAPI document from a file or an http(s) URL (JSON or YAML)."""
    if re.match(r"^https?://", source):
        headers = {"Accept": "application/json, application/yaml"}
        if token_env is not None:
            token = env.get(token_env)
            if not token:
                raise _Refused(f"environment variable {token_env} is not set (it holds the API's token)")
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = httpx.get(source, headers=headers, timeout=timeout, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise _Refused(f"{source}: the document cannot be fetched ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise _Refused(f"{source}: the document cannot be fetched (HTTP {response.status_code})")
        text = response.text
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise _Refused(f"{source}: cannot read ({exc.strerror or type(exc).__name__})") from None
    try:
        document = json.loads(text)
    except ValueError:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError:
            raise _Refused(f"{source}: neither JSON nor YAML") from None
    if not isinstance(document, dict):
        raise _Refused(f"{source}: not an OpenAPI document (an object with `openapi` and `paths`)")
    return document


def _write(text: str, target: Path | None, force: bool) -> None:
    """The whole file or nothing: a temporary file beside it, renamed over it."""
    if target is None:
        return
    if target.exists() and not force:
        raise _Refused(f"{target} exists: it may be hand-written; --force replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
