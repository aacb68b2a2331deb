"""Connections to the catalogued source systems: one small pool per system, opened on first use.

The fulfilment reads through these (read-only sessions) and the erasure writes through them; both
resolve a system's DSN the same way (`dsn.resolve_dsn`).
"""

from __future__ import annotations

import asyncio
import os

import asyncpg

from services.catalogue.dsn import resolve_dsn
from services.catalogue.model import Catalogue


class SourcePools:
    def __init__(
        self,
        catalogue: Catalogue,
        *,
        server_url: str | None,
        database_prefix: str = "",
        server_settings: dict[str, str] | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.server_url = server_url
        self.database_prefix = database_prefix
        self.server_settings = server_settings or {}
        self._pools: dict[str, asyncpg.Pool] = {}
        self._opening = asyncio.Lock()  # reads of one system run at the same time: open it once

    async def pool(self, system: str) -> asyncpg.Pool:
        if system in self._pools:
            return self._pools[system]
        async with self._opening:
            return await self._open(system)

    async def _open(self, system: str) -> asyncpg.Pool:
        if system not in self._pools:
            dsn = resolve_dsn(
                self.catalogue.systems[system].connection,
                server_url=self.server_url,
                env=os.environ,
                database_prefix=self.database_prefix,
            )
            self._pools[system] = await asyncpg.create_pool(
                dsn, min_size=0, max_size=4, server_settings=self.server_settings
            )
        return self._pools[system]

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
