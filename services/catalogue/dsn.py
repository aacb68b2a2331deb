"""Turns a system's connection reference into a DSN, at run time: secrets stay in the environment."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

from services.catalogue.model import Connection


class UnresolvedConnection(LookupError):
    """The reference names nothing usable here (an unset variable, no server to find a database on)."""


def database_url(server_url: str, database: str) -> str:
    """`server_url` pointing at another database on the same server (credentials and options kept)."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def resolve_dsn(
    connection: Connection, *, server_url: str | None, env: Mapping[str, str], database_prefix: str = ""
) -> str:
    """The DSN: `database` on the pipeline's server (`server_url`, e.g. DSR_DATABASE_URL), with
    `database_prefix` prepended (tests and the demo loader isolate their databases with it),
    or the value of the environment variable `env`."""
    if connection.env is not None:
        value = env.get(connection.env)
        if not value:
            raise UnresolvedConnection(f"environment variable {connection.env} is not set")
        return value
    assert connection.database is not None
    if server_url is None:
        raise UnresolvedConnection("no PostgreSQL server to find the database on")
    return database_url(server_url, f"{database_prefix}{connection.database}")
