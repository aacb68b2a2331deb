"""Connection references resolve to DSNs at run time, never from the file."""

from __future__ import annotations

import pytest

from services.catalogue.dsn import UnresolvedConnection, database_url, resolve_dsn
from services.catalogue.model import Connection


def test_a_database_resolves_on_the_pipelines_server_with_an_optional_prefix() -> None:
    connection = Connection(database="demo_crm")
    dsn = resolve_dsn(
        connection,
        server_url="postgresql://postgres@127.0.0.1:5433/dsr?sslmode=disable",
        env={},
        database_prefix="t1_",
    )
    assert dsn == "postgresql://postgres@127.0.0.1:5433/t1_demo_crm?sslmode=disable"


def test_an_environment_variable_resolves_to_its_value() -> None:
    connection = Connection(env="CRM_DSN")
    assert resolve_dsn(connection, server_url=None, env={"CRM_DSN": "postgresql://x/y"}) == "postgresql://x/y"
    with pytest.raises(UnresolvedConnection):
        resolve_dsn(connection, server_url=None, env={})


def test_database_url_keeps_credentials_and_options() -> None:
    assert database_url("postgresql://u:p@h:1/a?x=1", "b") == "postgresql://u:p@h:1/b?x=1"
