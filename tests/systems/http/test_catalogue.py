"""The `api:` section in the catalogue: the example file loads (and `dsr catalogue check` passes) when
copied into a catalogue; every mistake is named with its file and field; no secret is written in
it, while fields that name where a secret is (`token_env`) do not count as one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from services.catalogue.cli import app
from services.catalogue.loader import CatalogueError, load_catalogue
from services.catalogue.model import System
from services.systems.sample import fixture_system
from tests.systems.conformance.http_engine import API as FIXTURE_API
from tests.systems.http.conftest import EXAMPLE, NEWSLETTER, catalogue_with

Mutation = Callable[[dict[str, Any]], None]


def _with_example(tmp_path: Path, *mutations: Mutation) -> Path:
    root = catalogue_with(tmp_path / "catalogue")
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    for mutation in mutations:
        mutation(document)
    (root / "systems" / f"{NEWSLETTER}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(root)
    return caught.value.problems


def test_the_example_describes_the_marketing_system_over_http(tmp_path: Path) -> None:
    catalogue = load_catalogue(_with_example(tmp_path))
    example, marketing = catalogue.systems[NEWSLETTER], catalogue.systems["marketing"]
    assert example.connection.engine == "http" and example.api is not None
    assert example.tables == marketing.tables  # same tables, columns, purposes, retention, erasure
    assert set(example.api.resources) == set(marketing.tables)


def test_dsr_catalogue_check_passes_with_the_example_in_place(tmp_path: Path) -> None:
    root = _with_example(tmp_path)
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 0, result.output
    assert "11 systems" in result.output


def _resource(table: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda doc: doc["api"]["resources"][table]


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return mutate


F = f"systems/{NEWSLETTER}.yaml"


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (_set("api", None), "api: an `http` system describes its API here"),
        (
            _set("api.resources.downloads.search.0.path", "/v1/downloads/{email}"),
            "api.resources.downloads.search[0].path: unknown placeholder {email} in the path "
            "(this operation knows {value}, {values})",
        ),
        (
            _set("api.resources.downloads.search.0.path", "/v1/downloads/{values}"),
            "api.resources.downloads.search[0].path: {values} cannot be in the path",
        ),
        (
            _set("api.resources.downloads.search.0.query", {"email": "{value}", "also": "{values}"}),
            "api.resources.downloads.search[0]: a search names exactly one of {value}",
        ),
        (
            _set("api.resources.downloads.search.0.query", {"email": "x{values}"}),
            "api.resources.downloads.search[0].query: {values} is a list",
        ),
        (
            _set("api.resources.downloads.read.path", "/v1/downloads/{id}"),
            "api.resources.downloads.read.path: unknown placeholder {id}",
        ),
        (
            _set("api.resources.downloads.update.body", {"data": "{key}"}),
            "api.resources.downloads.update: an update's body holds {changes}",
        ),
        (
            _set("api.resources.downloads.search.0.by", "asset"),
            "api.resources.downloads.search[0].by: column 'asset' is neither an identifier column "
            "nor the table's belongs_to",
        ),
        (
            _set("api.resources.downloads.search.0.by", "mail"),
            "api.resources.downloads.search[0].by: no column 'mail' in table 'downloads'",
        ),
        (
            _set(
                "api.resources.event_signups.search",
                [{"by": "email", "path": "/v1/x", "query": {"e": "{value}"}}],
            ),
            "api.resources.event_signups.search: no search by 'phone': rows found by it in other systems",
        ),
        (
            _set("api.resources.event_signups.fields.mobile", "attendee.mobile"),
            "api.resources.event_signups.fields.mobile: no column 'mobile' in table 'event_signups'",
        ),
        (
            _set("api.resources.webinars", {"search": []}),
            "api.resources.webinars: no table 'webinars' in this system",
        ),
        (
            _set("api.resources.downloads", None),
            "api.resources: table 'downloads' is searched by email: describe `resources.downloads`",
        ),
        (
            _set("api.resources.downloads.read", None),
            "api.resources.downloads.update: update needs a `read` (only what differs is sent)",
        ),
        (
            _set("api.resources.downloads.search.0.pagination", {"kind": "pages"}),
            "api.resources.downloads.search[0].pagination: Input tag 'pages' found using 'kind' does not match",
        ),
        (
            _set("api.resources.downloads.search.0.pagination", {"kind": "cursor"}),
            "api.resources.downloads.search[0].pagination.cursor.next: Field required",
        ),
        (
            _set("api.resources.downloads.search.0.recrods", "data"),
            "api.resources.downloads.search[0].recrods: Extra inputs are not permitted",
        ),
        (
            _set("api.headers", {"X-Api-Key": "k"}),
            "api.headers: header 'X-Api-Key' looks like a credential: name it under `api.auth`",
        ),
        (
            _set("api.auth", {"kind": "bearer", "token": "s3cr3t-token-value"}),
            "api.auth.token: looks like a connection string or secret",
        ),
        (
            _set("api.auth", {"kind": "bearer"}),
            "api.auth.bearer: name exactly one of `token_env` or `token_file`",
        ),
        (
            _set("api.auth", {"kind": "basic", "username_env": "user", "password_env": "P"}),
            "api.auth.basic.username_env: String should match pattern",
        ),
        (
            _set(
                "api.auth",
                {
                    "kind": "oauth2_client_credentials",
                    "token_url": "https://u:p@auth.example/token",
                    "client_id_env": "ID",
                    "client_secret_env": "SECRET",
                },
            ),
            "api.auth.oauth2_client_credentials.token_url: a token URL is",
        ),
    ],
    ids=lambda value: "" if callable(value) else value.split(":")[0],
)
def test_each_mistake_is_named_with_its_file_and_field(
    tmp_path: Path, mutation: Mutation, expected: str
) -> None:
    root = _with_example(tmp_path, mutation)
    problems = _problems(root)
    assert any(problem.startswith(f"{root / F}:{expected}") for problem in problems), problems


def test_an_api_on_a_system_of_another_engine_is_refused(tmp_path: Path) -> None:
    root = _with_example(tmp_path, _set("connection", {"database": "demo_newsletter"}))
    problems = _problems(root)
    assert any(p.startswith(f"{root / F}:api: only an `http` system has an `api`") for p in problems), (
        problems
    )


def test_every_problem_is_reported_at_once_even_with_a_broken_header(tmp_path: Path) -> None:
    root = _with_example(
        tmp_path,
        _set("title", None),
        _set("api.resources.downloads.search.0.by", "asset"),
        _set("tables.survey_responses.columns.email.type", "txt"),
    )
    problems = _problems(root)
    assert any(":title: Field required" in p for p in problems)
    assert any(":api.resources.downloads.search[0].by: column 'asset'" in p for p in problems)
    assert any(":tables.survey_responses.columns.email.type:" in p for p in problems)
    assert not any("api.resources.survey_responses" in p for p in problems)  # its table is broken


def test_names_of_secrets_are_no_secrets(tmp_path: Path) -> None:
    auth = {
        "kind": "oauth2_client_credentials",
        "token_url": "/oauth/token",
        "client_id_env": "NEWSLETTER_CLIENT_ID",
        "client_secret_env": "NEWSLETTER_CLIENT_SECRET",
        "scope": "contacts.read contacts.write",
    }
    assert load_catalogue(_with_example(tmp_path, _set("api.auth", auth)))
    basic = {"kind": "basic", "username_env": "NL_USER", "password_file": "/run/secrets/newsletter_password"}
    assert load_catalogue(_with_example(tmp_path / "b", _set("api.auth", basic)))


def test_a_system_validated_directly_checks_its_api_against_its_tables() -> None:
    assert fixture_system({"engine": "http", "base_url": "http://127.0.0.1:1"}, api=FIXTURE_API).api
    letters = {**FIXTURE_API["resources"]["letters"], "restrict": {"path": "/api/letters/{key}"}}
    api = {**FIXTURE_API, "resources": {**FIXTURE_API["resources"], "letters": letters}}
    with pytest.raises(ValidationError) as caught:
        fixture_system({"engine": "http", "base_url": "http://127.0.0.1:1"}, api=api)
    assert (
        "api.resources.letters.restrict: rows of 'letters' are restricted through 'case_id': "
        "describe restrict on `resources.cases`" in str(caught.value)
    )


def test_a_template_is_checked_whatever_the_operation() -> None:
    base = {
        "title": {"nb": "x", "en": "x"},
        "description": {"nb": "x", "en": "x"},
        "connection": {"engine": "http", "base_url": "https://api.example"},
        "role": {"kind": "controller"},
        "tables": yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["tables"],
    }
    api = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["api"]
    bad = {
        ("delete", "path"): "/v1/downloads",
        ("restrict", "body"): {"restricted": "on {restricted}"},
        ("update", "headers"): {"X-Trace": "{key}"},
        ("read", "path"): "/v1/downloads?id={key}",
    }
    for (operation, field), value in bad.items():
        resource = api["resources"]["downloads"]
        changed = {
            **api,
            "resources": {
                **api["resources"],
                "downloads": {**resource, operation: {**resource[operation], field: value}},
            },
        }
        with pytest.raises(ValidationError):
            System.model_validate({**base, "api": changed})
