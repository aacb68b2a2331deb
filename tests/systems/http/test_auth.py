"""Credentials by reference: a bearer token, basic auth and an API key from the environment or a
file, OAuth 2.0 client credentials from a token endpoint (cached until it expires, fetched again
once on a 401); none of them in the catalogue, the logs or an error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.catalogue.model import IdentifierType as Id
from services.systems.contract import SystemUnknown
from tests.systems.http.conftest import LabAdapters, people_api
from tests.systems.http.servers import (
    API_KEY,
    BASIC_PASSWORD,
    BASIC_USER,
    BEARER,
    CLIENT_ID,
    CLIENT_SECRET,
    Lab,
)

KARI = {Id.email: {"kari@example.no"}}

OAUTH = {
    "kind": "oauth2_client_credentials",
    "token_url": "/oauth/token",
    "client_id_env": "LAB_CLIENT_ID",
    "client_secret_env": "LAB_CLIENT_SECRET",
    "scope": "people.read people.write",
}
OAUTH_ENV = {"LAB_CLIENT_ID": CLIENT_ID, "LAB_CLIENT_SECRET": CLIENT_SECRET}


async def test_a_bearer_token_from_the_environment_or_a_file(
    lab_adapter: LabAdapters, tmp_path: Path
) -> None:
    by_env = lab_adapter(
        people_api("bearer", auth={"kind": "bearer", "token_env": "LAB_TOKEN"}), env={"LAB_TOKEN": BEARER}
    )
    assert len(await by_env.search(KARI, {})) == 2
    secret = tmp_path / "token"
    secret.write_text(f"{BEARER}\n")
    by_file = lab_adapter(people_api("bearer", auth={"kind": "bearer", "token_file": str(secret)}))
    assert len(await by_file.search(KARI, {})) == 2
    wrong = lab_adapter(
        people_api("bearer", auth={"kind": "bearer", "token_env": "LAB_TOKEN"}), env={"LAB_TOKEN": "nope"}
    )
    with pytest.raises(SystemUnknown) as caught:
        await wrong.search(KARI, {})
    assert caught.value.cause == "http_401"


async def test_an_unset_variable_or_a_missing_file_is_unknown(
    lab_adapter: LabAdapters, tmp_path: Path
) -> None:
    for auth in (
        {"kind": "bearer", "token_env": "LAB_UNSET"},
        {"kind": "bearer", "token_file": str(tmp_path / "absent")},
        {"kind": "basic", "username_env": "LAB_UNSET", "password_env": "LAB_UNSET"},
    ):
        with pytest.raises(SystemUnknown) as caught:
            await lab_adapter(people_api("ok", auth=auth)).search(KARI, {})
        assert caught.value.cause == "auth_unresolved"


async def test_basic_auth(lab_adapter: LabAdapters) -> None:
    adapter = lab_adapter(
        people_api(
            "basic", auth={"kind": "basic", "username_env": "LAB_USER", "password_env": "LAB_PASSWORD"}
        ),
        env={"LAB_USER": BASIC_USER, "LAB_PASSWORD": BASIC_PASSWORD},
    )
    assert len(await adapter.search(KARI, {})) == 2


async def test_an_api_key_in_the_query_never_shows_in_an_error(lab_adapter: LabAdapters, lab: Lab) -> None:
    auth = {"kind": "api_key", "key_env": "LAB_KEY", "query": "api_key"}
    adapter = lab_adapter(people_api("apikey", auth=auth), env={"LAB_KEY": API_KEY})
    assert len(await adapter.search(KARI, {})) == 2
    assert any(f"api_key={API_KEY}" in query for _, _, query in lab.seen)


async def test_oauth2_client_credentials_cached_then_fetched_again_once_on_a_401(
    lab_adapter: LabAdapters, lab: Lab, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = lab_adapter(people_api("oauth", auth=OAUTH), env=OAUTH_ENV)
    for _ in range(3):
        assert len(await adapter.search(KARI, {})) == 2
    assert lab.token_requests == 1  # cached
    lab.revoke_tokens()  # the API stops accepting it before it expires
    assert len(await adapter.search(KARI, {})) == 2
    assert lab.token_requests == 2
    assert adapter.statements == 3 + 1 + (1 + 1 + 1)  # searches, token, (401, token, search)
    text = " ".join(
        r.getMessage() + str(r.__dict__) for r in caplog.records if not r.name.startswith("uvicorn")
    )
    assert CLIENT_SECRET not in text and "lab-token" not in text


async def test_oauth2_client_secret_in_the_body_and_an_expired_token(
    lab_adapter: LabAdapters, lab: Lab
) -> None:
    lab.token_lifetime = 10  # less than the expiry margin: expired at once
    try:
        auth = {**OAUTH, "client_auth": "body", "expiry_margin": 30}
        adapter = lab_adapter(people_api("oauth", auth=auth), env=OAUTH_ENV)
        await adapter.search(KARI, {})
        await adapter.search(KARI, {})
        assert lab.token_requests == 2
    finally:
        lab.token_lifetime = 3600


async def test_a_token_endpoint_that_refuses_is_unknown(lab_adapter: LabAdapters) -> None:
    for auth, env, cause in (
        (OAUTH, {**OAUTH_ENV, "LAB_CLIENT_SECRET": "wrong"}, "token_http_401"),
        ({**OAUTH, "scope": "everything"}, OAUTH_ENV, "token_http_400"),
        ({**OAUTH, "token_url": "/s503/health"}, OAUTH_ENV, "token_http_503"),
        ({**OAUTH, "token_url": "/notjson/health"}, OAUTH_ENV, "token_malformed_json"),
        ({**OAUTH, "token_url": "/ok/health"}, OAUTH_ENV, "token_wrong_shape"),
    ):
        with pytest.raises(SystemUnknown) as caught:
            await lab_adapter(people_api("oauth", auth=auth), env=env).search(KARI, {})
        assert caught.value.cause == cause
        assert CLIENT_SECRET not in repr(caught.value) and "lab-token" not in repr(caught.value)
