"""Which Python driver each engine and SQL dialect needs, and the pip extra that brings it, so that
`dsr catalogue check` and a service starting up can name what to install."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass

from services.catalogue.model import Connection


@dataclass(frozen=True)
class Driver:
    module: str
    extra: str | None
    """The `dsr-pipeline[extra]` that installs it; None: installed with the pipeline itself."""
    url_scheme: str
    """The SQLAlchemy URL scheme a URL for this dialect uses."""


DIALECT_DRIVERS: dict[str, Driver] = {
    "sqlite": Driver("aiosqlite", None, "sqlite+aiosqlite"),
    "mysql": Driver("asyncmy", "mysql", "mysql+asyncmy"),
    "mariadb": Driver("asyncmy", "mysql", "mysql+asyncmy"),
    "mssql": Driver("aioodbc", "mssql", "mssql+aioodbc"),
    "oracle": Driver("oracledb", "oracle", "oracle+oracledb"),
    "postgresql": Driver("asyncpg", None, "postgresql+asyncpg"),
}


def driver_of(connection: Connection) -> Driver | None:
    if connection.engine == "sql" and connection.dialect is not None:
        return DIALECT_DRIVERS[connection.dialect]
    if connection.engine == "postgresql":
        return Driver("asyncpg", None, "postgresql")
    if connection.engine == "http":
        return Driver("httpx", None, "https")
    return None


def missing_driver(connection: Connection) -> str | None:
    """What to install for this system, or None when its driver imports (a driver whose native
    library is missing, such as aioodbc without unixODBC, fails the import, not the lookup)."""
    driver = driver_of(connection)
    if driver is None:
        return None
    how = f"pip install 'dsr-pipeline[{driver.extra}]'" if driver.extra else "reinstall dsr-pipeline"
    if importlib.util.find_spec(driver.module) is None:
        return f"needs the Python package {driver.module!r} ({how})"
    try:
        importlib.import_module(driver.module)
    except ImportError as exc:
        return f"the Python package {driver.module!r} does not load ({type(exc).__name__}: a system library it needs is missing)"
    return None
