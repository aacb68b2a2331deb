"""Reach every catalogued system as the services do and compare its live schema with the catalogue.

Connections come from the same place as the locator's and the erasure's: the catalogue's
`connection` resolved by `services.catalogue.dsn.resolve_dsn` with the pipeline's settings
(`DSR_DATABASE_URL`'s server, `DSR_DEMO_DATABASE_PREFIX`, `DSR_SOURCE_FILES_DIR`, the environment
variables and secret files the catalogue names). The schema and the samples are read by the
scaffold's `read_database` (read-only, a statement timeout, values only in memory); each system
within `DSR_CATALOGUE_DRIFT_TIMEOUT`, all of them at once.

PostgreSQL and `sql` systems (MariaDB/MySQL, SQLite, SQL Server, Oracle) are checked; an HTTP or a
manual system has no schema to read and is reported `not_checkable`; a system that cannot be
reached (no driver, an unset variable, a server down, a role refused) is `unreachable`, its
findings unknown.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping

from services.catalogue.drift.compare import compare
from services.catalogue.drift.findings import CheckOutcome, SystemCheck
from services.catalogue.drift.settings import DriftSettings
from services.catalogue.drift.suggest import suggest
from services.catalogue.dsn import UnresolvedConnection, resolve_dsn
from services.catalogue.model import Catalogue, FlatCategory, System
from services.catalogue.scaffold.introspect import ScaffoldError, read_database
from services.systems.drivers import missing_driver

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT = 5.0
"""Seconds one statement of the check may take (at most; never more than the system's budget)."""


async def check_systems(
    catalogue: Catalogue,
    *,
    server_url: str | None,
    settings: DriftSettings | None = None,
    env: Mapping[str, str] | None = None,
    only: Iterable[str] | None = None,
) -> list[SystemCheck]:
    """Every system's check (or those in `only`), by system name."""
    settings = settings or DriftSettings()
    environment = os.environ if env is None else env
    categories = catalogue.taxonomy.flatten()
    names = sorted(catalogue.systems if only is None else set(only) & set(catalogue.systems))
    return list(
        await asyncio.gather(
            *(
                check_system(
                    name,
                    catalogue.systems[name],
                    categories,
                    server_url=server_url,
                    settings=settings,
                    env=environment,
                )
                for name in names
            )
        )
    )


async def check_system(
    name: str,
    spec: System,
    categories: Mapping[str, FlatCategory],
    *,
    server_url: str | None,
    settings: DriftSettings,
    env: Mapping[str, str],
) -> SystemCheck:
    connection = spec.connection
    if connection.engine in ("http", "manual"):
        return SystemCheck(name, CheckOutcome.not_checkable, reason=f"{connection.engine}_system")
    if missing_driver(connection) is not None:
        return SystemCheck(name, CheckOutcome.unreachable, reason="driver_missing")
    try:
        url = resolve_dsn(
            connection,
            server_url=server_url,
            env=env,
            database_prefix=settings.demo_database_prefix,
            files_dir=settings.source_files_dir,
        )
    except UnresolvedConnection:
        return SystemCheck(name, CheckOutcome.unreachable, reason="unresolved_connection")
    budget = settings.catalogue_drift_timeout
    try:
        reading = await asyncio.wait_for(
            read_database(
                url, sample=settings.catalogue_drift_sample, timeout=min(STATEMENT_TIMEOUT, budget)
            ),
            budget,
        )
    except ScaffoldError as exc:
        # The scaffold's messages are its own words (never a driver's, which can quote a value).
        log.warning("drift check: system unreachable", extra={"system": name, "reason": str(exc)})
        return SystemCheck(name, CheckOutcome.unreachable, reason=str(exc))
    except TimeoutError:
        log.warning("drift check: system timed out", extra={"system": name, "seconds": budget})
        return SystemCheck(name, CheckOutcome.unreachable, reason="timed out")
    findings = compare(name, spec, reading.schema, suggest(reading.schema, reading.samples), categories)
    unsampled = tuple(
        f"{problem.table}.{problem.column}" if problem.column else problem.table
        for problem in reading.unreadable
    )
    return SystemCheck(name, CheckOutcome.checked, findings, unsampled=unsampled)
