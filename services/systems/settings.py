"""How the pipeline reaches its source systems (`DSR_LOCATOR_SYSTEM_*`, `DSR_SOURCE_FILES_DIR`,
`DSR_DEMO_DATABASE_PREFIX`), validated on load: every service that reads or changes them.

The variables keep their `DSR_LOCATOR_SYSTEM_` names (the locator was their first user, and
deployments set them); the README's configuration table lists them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SystemsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DSR_", extra="ignore")

    demo_database_prefix: str = Field(
        "", description="Prepended to the catalogue's database names (tests isolate demo loads with it)."
    )
    source_files_dir: Path = Field(
        Path(".dsr/sources"),
        description="Where the pipeline keeps the source systems it hosts itself as files (the demo's SQLite systems).",
    )
    locator_system_timeout: float = Field(
        2.0, gt=0, description="Seconds one system may take per search round."
    )
    locator_system_attempts: int = Field(
        3, ge=1, description="Attempts per system and round before it counts as unavailable."
    )
    locator_system_cooldown_seconds: float = Field(
        5.0, ge=0, description="After a system failed, searches count it as down this long without asking it."
    )
    locator_system_connections: int = Field(
        4,
        ge=1,
        le=50,
        description="Connections a worker opens at most to each source system (it searches at most 4 partitions' requests at once).",
    )
