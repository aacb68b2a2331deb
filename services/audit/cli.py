"""`dsr audit`: verify the audit trail's hash chains; anchor finished days in a digest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import typer
from rich.console import Console

from services.audit.chain import AuditReport, anchor, verify
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
