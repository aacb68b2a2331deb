"""`dsr demo ...`: show the showcase subjects, load the demo systems."""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

app = typer.Typer(
    help="Demo source systems with synthetic people.", no_args_is_help=True, add_completion=False
)


@app.command()
def subjects(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list instead of a table.")] = False,
) -> None:
    """The showcase subjects: who to ask about, and what the pipeline should find."""
    from rich.table import Table

    from services.demo.showcase import showcase_subjects

    people = showcase_subjects()
    if as_json:
        typer.echo(json.dumps([person.model_dump() for person in people], ensure_ascii=False, indent=2))
        return
    table = Table("key", "national id", "name", "email", "phone", "expect", show_lines=True)
    for person in people:
        table.add_row(person.key, person.national_id, person.name, person.email, person.phone, person.expect)
    Console().print(table)


@app.command()
def placements() -> None:
    """Where the generator puts each showcase subject's rows, as JSON (system, table, id)."""
    from services.demo.generator import showcase_placements

    record = {key: [ref._asdict() for ref in sorted(refs)] for key, refs in showcase_placements().items()}
    typer.echo(json.dumps(record, indent=2))


class _RichProgress:
    """The loader's progress, shown as one rich progress bar per phase."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def phase(self, description: str, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total)
        self._task = self._progress.add_task(description, total=max(total, 1))
        if total == 0:
            self._progress.update(self._task, completed=1)

    def advance(self, steps: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)


@app.command()
def load(
    subjects: Annotated[
        int, typer.Option(min=0, help="Random people besides the showcase subjects.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same people.")] = 42,
    server_url: Annotated[
        str | None, typer.Option(help="A PostgreSQL URL on the target server (default: DSR_DATABASE_URL).")
    ] = None,
    prefix: Annotated[str, typer.Option(help="Prepended to every database name.")] = "",
    reload: Annotated[bool, typer.Option(help="Reload even when the databases hold this load.")] = False,
) -> None:
    """Create `demo_<system>` databases on the server and fill them (reused when already loaded)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from services.demo.loader import create_demo_systems

    url = server_url or os.environ.get("DSR_DATABASE_URL")
    if not url:
        raise typer.BadParameter("give --server-url or set DSR_DATABASE_URL", param_hint="--server-url")
    console = Console(highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        demo = asyncio.run(
            create_demo_systems(
                url, subjects=subjects, seed=seed, progress=_RichProgress(bar), prefix=prefix, reload=reload
            )
        )
    if not demo.loaded:
        console.print(
            f"Already loaded (seed {seed}, {subjects:,} subjects): {demo.total_rows:,} rows; reused."
        )
        return
    timings = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in demo.timings.items())
    console.print(
        f"Loaded {subjects:,} subjects (+ {len(demo.showcase)} showcase), {demo.total_rows:,} rows: {timings}"
    )
    for system, tables in demo.row_counts.items():
        listing = ", ".join(f"{table} {count:,}" for table, count in tables.items())
        console.print(f"  {demo.databases[system]}: {listing}")


@app.command()
def drift(
    undo: Annotated[bool, typer.Option("--undo", help="Drop the added column again.")] = False,
    server_url: Annotated[
        str | None, typer.Option(help="A PostgreSQL URL on the demo's server (default: DSR_DATABASE_URL).")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option(help="The demo load's prefix (default: DSR_DEMO_DATABASE_PREFIX).")
    ] = None,
) -> None:
    """Add a column holding emails to the demo CRM (contacts.backup_email): the drift check finds it."""
    from services.catalogue.drift.settings import DriftSettings
    from services.demo.drift import COLUMN, SYSTEM, TABLE, make_drift

    ledger_url = os.environ.get("DSR_DATABASE_URL")
    url = server_url or ledger_url
    if not url:
        raise typer.BadParameter(
            "give --server-url or set DSR_DATABASE_URL (dsr up prints it on the PostgreSQL: line)",
            param_hint="--server-url",
        )
    settings = DriftSettings()
    where = f"{SYSTEM}.{TABLE}.{COLUMN}"
    result = asyncio.run(
        make_drift(
            url,
            prefix=settings.demo_database_prefix if prefix is None else prefix,
            ledger_url=ledger_url,
            undo=undo,
        )
    )
    console = Console(highlight=False, soft_wrap=True)
    if undo:
        console.print(f"Dropped {where} again ({result.database}): the finding resolves at the next check.")
    else:
        console.print(
            f"Added {where} to {result.database}: a copy of {TABLE}.email ({result.rows:,} address(es)), "
            "personal data the catalogue does not describe."
        )
    if result.scheduled:
        console.print(
            "The tracker checks at its next round (DSR_TRACKER_INTERVAL): see the console's Catalogue drift "
            "page (sign in as demo-dpo), `dsr catalogue drift`, or the tracker's /metrics: "
            f'dsr_catalogue_undescribed_personal_columns{{system="{SYSTEM}"}}.'
        )
    else:
        console.print(
            f"The tracker's next scheduled check finds it (every DSR_CATALOGUE_DRIFT_SECONDS, "
            f"{settings.catalogue_drift_seconds:.0f} s); `dsr catalogue drift` shows it now."
        )
