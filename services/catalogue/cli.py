"""`dsr catalogue ...`: check a catalogue directory and list every problem in it; scaffold a draft
entry for a system from the live system (`scaffold/`)."""

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


@app.command()
def drift(
    path: Annotated[
        Path | None, typer.Argument(help="The catalogue directory (default: DSR_CATALOGUE_DIR).")
    ] = None,
    system: Annotated[
        list[str] | None, typer.Option("--system", help="Check only this system (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """Compare every system's live schema with the catalogue, reaching the systems with the
    pipeline's own settings (DSR_DATABASE_URL, DSR_DEMO_DATABASE_PREFIX, DSR_SOURCE_FILES_DIR, the
    variables the catalogue names). Exit 1 when personal data is undescribed, 3 when a system could
    not be reached, else 0. Never prints a sampled value: counts only."""
    import asyncio
    import json

    from services.catalogue.drift import report
    from services.catalogue.drift.check import check_systems
    from services.catalogue.drift.settings import DriftSettings
    from services.catalogue.loader import CatalogueError, load_catalogue
    from services.runtime.settings import Settings

    settings = Settings()
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        catalogue = load_catalogue(path or settings.catalogue_dir)
    except CatalogueError as exc:
        for problem in exc.problems:
            err.print(problem, markup=False)
        err.print("the catalogue does not load: run `dsr catalogue check`", style="red", markup=False)
        raise typer.Exit(1) from None
    unknown = sorted(set(system or ()) - set(catalogue.systems))
    if unknown:
        raise typer.BadParameter(
            f"no system {', '.join(unknown)} in the catalogue ({', '.join(sorted(catalogue.systems))})",
            param_hint="--system",
        )
    checks = asyncio.run(
        check_systems(
            catalogue, server_url=settings.database_url, settings=DriftSettings(), only=system or None
        )
    )
    if as_json:
        typer.echo(json.dumps(report.as_json(checks), ensure_ascii=False, indent=2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        for line in report.lines(checks):
            out.print(line, markup=False)
    raise typer.Exit(report.exit_code(checks))


@app.command()
def scaffold(
    system: Annotated[str, typer.Argument(help="The system's name: the draft is systems/<system>.yaml.")],
    url_env: Annotated[
        str | None,
        typer.Option(
            "--url-env",
            help="The environment variable holding the database's SQLAlchemy URL "
            "(sqlite:///file.db, postgresql://user@host/db, mysql://user@host/db).",
        ),
    ] = None,
    openapi: Annotated[
        str | None,
        typer.Option("--openapi", help="An HTTP system: its OpenAPI document, a file or an http(s) URL."),
    ] = None,
    http_template: Annotated[
        bool, typer.Option("--http-template", help="An HTTP system without an OpenAPI document: a template.")
    ] = False,
    base_url_env: Annotated[
        str | None,
        typer.Option("--base-url-env", help="HTTP: the variable that will hold the API's base URL."),
    ] = None,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env", help="HTTP: the variable holding the API's bearer token (to fetch the document)."
        ),
    ] = None,
    out: Annotated[
        str | None,
        typer.Option(
            "--out", help="The catalogue directory to write systems/<system>.yaml in, or - for stdout."
        ),
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", help="The database schema (default: the connection's).")
    ] = None,
    sample: Annotated[
        int,
        typer.Option(
            "--sample", min=0, max=1000, help="Values sampled per text-like column (0: names only)."
        ),
    ] = 20,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, max=600, help="Seconds any one statement may take.")
    ] = 5.0,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="A table, or table.column, to leave out (repeatable)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Draft systems/<system>.yaml from a live system: its schema, and per column a suggested
    identifier type and categories with the evidence (counts of sampled values, never a value).
    Every entry is marked `review: suggested`; `dsr catalogue check` refuses the draft until a
    person has reviewed each one."""
    from services.catalogue.scaffold.command import Request, run

    code = run(
        Request(
            system=system,
            url_env=url_env,
            openapi=openapi,
            http_template=http_template,
            base_url_env=base_url_env,
            token_env=token_env,
            out=out,
            schema=schema,
            sample=sample,
            timeout=timeout,
            exclude=tuple(exclude or ()),
            force=force,
        )
    )
    if code:
        raise typer.Exit(code)


@app.callback()
def _group() -> None:
    """The data catalogue's commands."""
