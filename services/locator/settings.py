"""The locator's own knobs (`DSR_LOCATOR_*`, `DSR_DEMO_DATABASE_PREFIX`), validated on load.

Kept beside the locator rather than in `services.runtime.settings` so that the runtime does not
grow a setting per service; the README's configuration table lists them too.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LocatorSettings(BaseSettings):
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
    locator_max_rounds: int = Field(
        6, ge=1, description="Search rounds (link depth) before a still-growing search goes to review."
    )
    locator_retry_poll_seconds: float = Field(
        1.0, gt=0, description="How often the locator looks for waiting searches that are due."
    )
    locator_retry_initial_seconds: float = Field(
        5.0, gt=0, description="First wait before searching again after a system could not be read."
    )
    locator_retry_max_seconds: float = Field(300.0, gt=0, description="Longest wait between retries.")
    locator_unavailable_review_seconds: float = Field(
        86400.0, gt=0, description="A system down longer than this puts the request in needs_review."
    )
    locator_manual_task_days: int = Field(
        5, ge=1, description="Days an agent has to answer a manual system's search task."
    )
