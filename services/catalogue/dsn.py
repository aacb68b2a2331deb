"""Turns a system's connection reference into a URL, at run time: secrets stay in the environment
or in a mounted secret file, never in the catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from services.catalogue.model import Connection


class UnresolvedConnection(LookupError):
    """The reference names nothing usable here (an unset variable, no server to find a database on)."""


def database_url(server_url: str, database: str) -> str:
    """`server_url` pointing at another database on the same server (credentials and options kept)."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


def sqlite_file(files_dir: str | Path, database: str, database_prefix: str = "") -> Path:
    """Where the pipeline keeps an SQLite system it hosts itself (the demo's)."""
    return Path(files_dir) / f"{database_prefix}{database}.sqlite3"


def resolve_dsn(
    connection: Connection,
    *,
    server_url: str | None,
    env: Mapping[str, str],
    database_prefix: str = "",
    files_dir: str | Path | None = None,
) -> str:
    """The DSN or URL: `database` on the pipeline's server (`server_url`, e.g. DSR_DATABASE_URL)
    or an SQLite file in `files_dir`, with `database_prefix` prepended (tests and the demo loader
    isolate their databases with it); the value of the environment variable `env`; the contents of
    `secret_file`; or an HTTP system's `base_url`."""
    if connection.env is not None:
        value = env.get(connection.env)
        if not value:
            raise UnresolvedConnection(f"environment variable {connection.env} is not set")
        return value
    if connection.secret_file is not None:
        try:
            value = Path(connection.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UnresolvedConnection(
                f"secret file {connection.secret_file}: {type(exc).__name__}"
            ) from None
        if not value:
            raise UnresolvedConnection(f"secret file {connection.secret_file} is empty")
        return value
    if connection.base_url is not None:
        return connection.base_url
    if connection.database is None:
        raise UnresolvedConnection("a manual system has no connection")
    if connection.engine == "sql":
        if files_dir is None:
            raise UnresolvedConnection("no directory to find the SQLite file in (DSR_SOURCE_FILES_DIR)")
        return f"sqlite+aiosqlite:///{sqlite_file(files_dir, connection.database, database_prefix)}"
    if server_url is None:
        raise UnresolvedConnection("no PostgreSQL server to find the database on")
    return database_url(server_url, f"{database_prefix}{connection.database}")
