"""`dsr audit`: verify the audit trail's hash chains; anchor finished days; export a request's story."""

from __future__ import annotations

import asyncio
import getpass
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console

from services.audit.chain import AuditReport, anchor, verify
from services.audit.export import export
from services.runtime.db import create_pool
from services.runtime.settings import Settings

app = typer.Typer(no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


def _database_url() -> str:
    url = Settings().database_url
    if not url:
        raise typer.BadParameter("DSR_DATABASE_URL must be set (dsr up prints it on the PostgreSQL: line)")
    return url


@app.command("verify")
def verify_command() -> None:
    """Check every request's chain and every anchored day; name the first broken link."""

    async def run() -> AuditReport:
        conn = await asyncpg.connect(_database_url())
        try:
            return await verify(conn)
        finally:
            await conn.close()

    report = asyncio.run(run())
    for link in report.broken:
        who = link.reference or link.request_id or "events without a request"
        console.print(
            f"[red]BROKEN[/red] {who}: event #{link.seq} (audit id {link.event_id}): {link.problem}"
        )
    for day in report.days:
        console.print(
            f"[red]BROKEN[/red] day {day.day}: its anchored digest no longer matches "
            f"({day.anchored_events} events anchored, {day.events_now} now)"
        )
    summary = f"{report.events} events in {report.chains} chains, {report.anchored_days} anchored days"
    if not report.intact:
        console.print(f"Audit trail NOT intact: {summary}")
        raise typer.Exit(1)
    console.print(f"Audit trail intact: {summary}")


@app.command("anchor")
def anchor_command() -> None:
    """Anchor each finished day (UTC) in a digest; print the digests to keep elsewhere too."""

    async def run() -> list[tuple[object, str]]:
        conn = await asyncpg.connect(_database_url())
        try:
            return list(await anchor(conn, before=datetime.now(UTC).date()))
        finally:
            await conn.close()

    anchored = asyncio.run(run())
    for day, digest in anchored:
        console.print(f"{day} {digest}")
    console.print(f"Anchored {len(anchored)} day(s).")


class ExportFormat(StrEnum):
    json = "json"
    pdf = "pdf"


@app.command("export")
def export_command(
    reference: Annotated[str, typer.Argument(help="The request's reference (DSR-2026-000123) or id.")],
    format: Annotated[ExportFormat, typer.Option("--format", help="json or pdf.")] = ExportFormat.json,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="File to write; JSON goes to standard output when unset."),
    ] = None,
) -> None:
    """A request's whole story for Datatilsynet, with its audit trail and the chain's verification."""

    async def run() -> bytes | None:
        pool = await create_pool(_database_url(), min_size=1, max_size=1)
        try:
            async with pool.acquire() as conn:
                return await export(
                    conn, reference, format.value, actor=f"cli:{getpass.getuser()}", now=datetime.now(UTC)
                )
        finally:
            await pool.close()

    content = asyncio.run(run())
    if content is None:
        console.print(f"[red]No request {reference}.[/red]")
        raise typer.Exit(2)
    if output is None and format is ExportFormat.json:
        sys.stdout.write(content.decode() + "\n")
        return
    target = output or Path(f"{reference}-audit-export.{format.value}")
    target.write_bytes(content)
    console.print(f"Wrote {target} ({len(content):,} bytes)")
