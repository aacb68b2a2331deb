"""`dsr console ...`: the Argon2 hash for a console account in `DSR_CONSOLE_ACCOUNTS`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("hash-password")
def hash_password_command(
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Print the Argon2id hash of a password, for a `name:role:hash` entry of DSR_CONSOLE_ACCOUNTS."""
    from services.console.accounts import hash_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        typer.echo("A console password needs at least 12 characters.", err=True)
        raise typer.Exit(1)
    typer.echo(hash_password(password))
