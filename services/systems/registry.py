"""Every catalogued system behind the one contract: the adapter for each system's engine, built
from the catalogue and the environment. The locator, fulfilment and erasure each hold one."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from services.catalogue.dsn import UnresolvedConnection, resolve_dsn
from services.catalogue.model import Catalogue
from services.systems.contract import SourceSystem
from services.systems.drivers import missing_driver
from services.systems.guard import Limits
from services.systems.manual import manual_system, unresolved_system
from services.systems.plan import SystemPlan, build_plans
from services.systems.settings import SystemsSettings


class SourceSystems(Mapping[str, SourceSystem]):
    """System name -> its adapter. Adapters open their connections on first use."""

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        server_url: str | None,
        database_prefix: str = "",
        files_dir: str | Path | None = None,
        limits: Limits | None = None,
        read_only: bool = True,
        application_name: str = "dsr",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.plans: dict[str, SystemPlan] = build_plans(catalogue)
        environment = os.environ if env is None else env
        self._systems: dict[str, SourceSystem] = {
            name: _adapter(
                name,
                catalogue,
                self.plans.get(name),
                server_url=server_url,
                database_prefix=database_prefix,
                files_dir=files_dir,
                limits=limits or Limits(),
                read_only=read_only,
                application_name=application_name,
                env=environment,
            )
            for name in sorted(catalogue.systems)
        }

    @classmethod
    def configured(
        cls,
        catalogue: Catalogue,
        *,
        server_url: str | None,
        read_only: bool,
        application_name: str,
        settings: SystemsSettings | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SourceSystems:
        """As the services build them: prefix, file directory and limits from `DSR_*` settings."""
        settings = settings or SystemsSettings()
        return cls(
            catalogue,
            server_url=server_url,
            database_prefix=settings.demo_database_prefix,
            files_dir=settings.source_files_dir,
            limits=Limits(
                timeout=settings.locator_system_timeout,
                attempts=settings.locator_system_attempts,
                cooldown=settings.locator_system_cooldown_seconds,
                connections=settings.locator_system_connections,
            ),
            read_only=read_only,
            application_name=application_name,
            env=env,
        )

    def __getitem__(self, name: str) -> SourceSystem:
        return self._systems[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._systems)

    def __len__(self) -> int:
        return len(self._systems)

    def replace(self, name: str, system: SourceSystem) -> None:
        """Put another adapter in (tests: a system pointed elsewhere)."""
        self._systems[name] = system

    @property
    def statements(self) -> int:
        return sum(system.statements for system in self._systems.values())

    async def close(self) -> None:
        await asyncio.gather(*(system.close() for system in self._systems.values()))


def _adapter(
    name: str,
    catalogue: Catalogue,
    plan: SystemPlan | None,
    *,
    server_url: str | None,
    database_prefix: str,
    files_dir: str | Path | None,
    limits: Limits,
    read_only: bool,
    application_name: str,
    env: Mapping[str, str],
) -> SourceSystem:
    spec = catalogue.systems[name]
    connection = spec.connection
    if connection.engine == "manual":
        return manual_system(name)
    if missing_driver(connection) is not None:
        return unresolved_system(name, connection.engine, "driver_missing")
    try:
        url = resolve_dsn(
            connection, server_url=server_url, env=env, database_prefix=database_prefix, files_dir=files_dir
        )
    except UnresolvedConnection:
        return unresolved_system(name, connection.engine, "unresolved_connection")
    if connection.engine == "postgresql":
        from services.systems.postgresql import PostgresSystem

        return PostgresSystem(
            name, spec, plan, url, limits=limits, read_only=read_only, application_name=application_name
        )
    if connection.engine == "sql":
        from services.systems.sql import SqlSystem

        return SqlSystem(
            name, spec, plan, url, limits=limits, read_only=read_only, application_name=application_name
        )
    from services.systems.http import HttpSystem

    return HttpSystem(name, spec, plan, url, limits=limits, env=env, application_name=application_name)
