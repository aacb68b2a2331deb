"""Secrets a local `dsr up` makes on first start and keeps in its data directory (mode 0600),
so that keys, extracts and console sign-ins survive a restart. Configured values always win."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from services.authority import Role

LOCAL_API_ROLES = tuple(role.value for role in Role)
"""One generated API key per role of the authority table for a local run."""

DEMO_CONSOLE_ACCOUNTS = (("demo-agent", "agent"), ("demo-dpo", "dpo"), ("demo-ops", "ops"))


def _kept(file: Path, make: str) -> None:
    file.touch(mode=0o600)
    file.write_text(make)


def artifact_keys(data_dir: Path) -> str:
    """An artifact encryption key kept in the data directory, so extracts stay readable after a restart."""
    from services.artifacts.sealing import new_key_spec

    file = data_dir / "artifact-keys"
    if file.exists():
        return file.read_text().strip()
    spec = new_key_spec()
    _kept(file, spec + "\n")
    return spec


def api_keys(data_dir: Path) -> str:
    """Generated keys, one per role of `LOCAL_API_ROLES`, kept across restarts; a data directory
    made before a role existed gets a key for it added (the keys it had stay as they were)."""
    file = data_dir / "api-keys"
    kept = [entry for entry in file.read_text().strip().split(",") if entry] if file.exists() else []
    have = {entry.split(":", 2)[1] for entry in kept if entry.count(":") >= 2}
    missing = [role for role in LOCAL_API_ROLES if role not in have]
    if not missing:
        return ",".join(kept)
    keys = ",".join([*kept, *(f"local-{role}:{role}:{secrets.token_urlsafe(24)}" for role in missing)])
    _kept(file, keys + "\n")
    return keys


def demo_console_logins(data_dir: Path) -> list[tuple[str, str, str]]:
    """Demo console accounts (name, role, password), kept in the data directory like the API keys."""
    file = data_dir / "console-accounts"
    if file.exists():
        return [
            (name, role, password)
            for name, role, password in (line.split(":", 2) for line in file.read_text().split())
        ]
    logins = [(name, role, secrets.token_urlsafe(12)) for name, role in DEMO_CONSOLE_ACCOUNTS]
    _kept(file, "".join(f"{name}:{role}:{password}\n" for name, role, password in logins))
    return logins


def console_env(demo: bool, data_dir: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Console accounts come from configuration; only the demo makes its own (and, being local
    HTTP, cookies without `Secure`)."""
    from services.console.accounts import hash_password
    from services.console.settings import ConsoleSettings

    configured = ConsoleSettings().console_accounts
    if configured or not demo:
        return ({"DSR_CONSOLE_ACCOUNTS": configured} if configured else {}), []
    logins = demo_console_logins(data_dir)
    spec = ",".join(f"{name}:{role}:{hash_password(password)}" for name, role, password in logins)
    env = {"DSR_CONSOLE_ACCOUNTS": spec}
    if "DSR_CONSOLE_COOKIE_SECURE" not in os.environ:
        env["DSR_CONSOLE_COOKIE_SECURE"] = "false"
    return env, logins
