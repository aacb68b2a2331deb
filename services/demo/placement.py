"""Where each demo system lives, so the demo shows engines side by side: most are databases on the
pipeline's PostgreSQL server, telephony is an SQLite file, marketing is a newsletter SaaS behind
its JSON API (`newsletter_accounts.py`). The catalogue says the same (`catalogue/systems/`); a
test keeps the two equal.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from services.catalogue.dsn import sqlite_file
from services.demo.tables import SYSTEMS

SQLITE_SYSTEMS: tuple[str, ...] = ("telephony",)
NEWSLETTER_SYSTEMS: tuple[str, ...] = ("marketing",)
POSTGRES_SYSTEMS: tuple[str, ...] = tuple(s for s in SYSTEMS if s not in SQLITE_SYSTEMS + NEWSLETTER_SYSTEMS)

NEWSLETTER_URL_ENV = "NEWSLETTER_API_URL"
NEWSLETTER_TOKEN_ENV = "NEWSLETTER_API_TOKEN"
"""The variables the marketing system's catalogue file names (`connection.env`, `api.auth`)."""


def demo_database(system: str, prefix: str = "") -> str:
    return f"{prefix}demo_{system}"


@dataclass(frozen=True)
class DemoSources:
    """Where the demo keeps the systems that are not on the PostgreSQL server: the folder of its
    SQLite files and newsletter accounts (`DSR_SOURCE_FILES_DIR`), and the demo newsletter server
    (`DSR_DEMO_NEWSLETTER_URL`, `DSR_DEMO_NEWSLETTER_TOKEN`: set by `dsr up --demo` and the tests)."""

    files_dir: Path
    newsletter_url: str | None = None
    newsletter_token: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoSources:
        env = os.environ if env is None else env
        return cls(
            Path(env.get("DSR_SOURCE_FILES_DIR", ".dsr/sources")),
            env.get("DSR_DEMO_NEWSLETTER_URL") or None,
            env.get("DSR_DEMO_NEWSLETTER_TOKEN") or None,
        )

    @property
    def newsletter_dir(self) -> Path:
        return self.files_dir / "newsletter"

    def sqlite_file(self, system: str, prefix: str = "") -> Path:
        return sqlite_file(self.files_dir, f"demo_{system}", prefix)

    def newsletter_file(self, system: str, prefix: str = "") -> Path:
        return self.newsletter_dir / f"{demo_database(system, prefix)}.sqlite3"

    def env(self, prefix: str = "") -> dict[str, str]:
        """What the services need to reach this demo load (added to their environment)."""
        values = {"DSR_SOURCE_FILES_DIR": str(self.files_dir), "DSR_DEMO_DATABASE_PREFIX": prefix}
        if self.newsletter_url and self.newsletter_token:
            [system] = NEWSLETTER_SYSTEMS
            values[NEWSLETTER_URL_ENV] = f"{self.newsletter_url}/{demo_database(system, prefix)}"
            values[NEWSLETTER_TOKEN_ENV] = self.newsletter_token
        return values
