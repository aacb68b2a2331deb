"""`dsr erasure`: re-apply erasures after a source database was restored from a backup."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

from services.catalogue.loader import load_catalogue
from services.erasure.replay import ReplayReport, replay
from services.erasure.settings import ErasureSettings
from services.erasure.systems import ErasureSystems
from services.locator.settings import LocatorSettings
from services.runtime.db import create_pool
from services.runtime.settings import Settings
from services.systems.registry import SourceSystems

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _since(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("replay")
def replay_command(
    system: Annotated[str, typer.Option("--system", help="The restored system (catalogue name).")],
    since: Annotated[
        str,
        typer.Option("--since", help="ISO time the backup was taken: erasures since then are re-applied."),
    ],
) -> None:
    """Erase again, in the restored system, everything the erasure ledger erased there since TIME."""
    settings = Settings()
    database_url = settings.database_url
    if not database_url:
        raise typer.BadParameter("DSR_DATABASE_URL must be set")
    catalogue = load_catalogue(settings.catalogue_dir)
    if system not in catalogue.systems:
        raise typer.BadParameter(f"unknown system {system!r}; one of {', '.join(sorted(catalogue.systems))}")
    try:
        moment = _since(since)
    except ValueError:
        raise typer.BadParameter("--since must be an ISO date or time, e.g. 2026-11-24T21:00:00Z") from None

    async def run() -> ReplayReport:
        systems = ErasureSystems(
            catalogue,
            SourceSystems.configured(
                catalogue,
                server_url=settings.database_url,
                read_only=False,
                application_name="dsr-erasure-replay",
                settings=LocatorSettings(),
            ),
            hash_key=ErasureSettings().hash_key(settings.artifact_keys),
        )
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            return await replay(pool, systems, system, moment)
        finally:
            await pool.close()
            await systems.close()

    report = asyncio.run(run())
    console.print(
        f"{report.system}: {report.checked} ledger entries since {report.since.isoformat()}, "
        f"{report.reapplied} re-erased"
    )
    for table, count in sorted(report.by_table.items()):
        console.print(f"  {table}: {count}")
