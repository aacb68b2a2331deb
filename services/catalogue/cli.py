"""`dsr catalogue ...`: check a catalogue directory and list every problem in it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(
    help="The data catalogue of the company's systems.", no_args_is_help=True, add_completion=False
)


@app.command()
def check(
    path: Annotated[
        Path | None, typer.Argument(help="The catalogue directory (default: DSR_CATALOGUE_DIR).")
    ] = None,
) -> None:
    """Validate the catalogue; print every problem as `file:path: message` (exit 1), or a summary."""
    from services.catalogue.loader import CatalogueError, load_catalogue
    from services.catalogue.summary import summarise
    from services.runtime.settings import Settings
    from services.systems.drivers import missing_driver

    out = Console(highlight=False, soft_wrap=True)
    try:
        path = path or Settings().catalogue_dir
        catalogue = load_catalogue(path)
    except CatalogueError as exc:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for problem in exc.problems:
            err.print(problem, markup=False)
        err.print(f"{len(exc.problems)} problem(s) in {path}", style="red", markup=False)
        raise typer.Exit(1) from None
    # A valid file whose engine cannot be reached from this installation: say what to install.
    drivers = [
        f"{Path(path) / 'systems' / f'{name}.yaml'}:connection: {missing}"
        for name, system in sorted(catalogue.systems.items())
        if (missing := missing_driver(system.connection)) is not None
    ]
    if drivers:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for line in drivers:
            err.print(line, markup=False)
        err.print(f"{len(drivers)} system(s) without their driver in {path}", style="red", markup=False)
        raise typer.Exit(1)
    out.print(f"{path}: valid: {summarise(catalogue)}", markup=False)


@app.callback()
def _group() -> None:
    """Keeps `check` a subcommand even while it is the only one."""
