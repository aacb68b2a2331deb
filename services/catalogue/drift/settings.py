"""The drift check's knobs (`DSR_CATALOGUE_DRIFT_*`), with how it reaches the systems (the
services' own `DSR_LOCATOR_SYSTEM_*`, `DSR_SOURCE_FILES_DIR`, `DSR_DEMO_DATABASE_PREFIX`)."""

from __future__ import annotations

from pydantic import Field

from services.systems.settings import SystemsSettings


class DriftSettings(SystemsSettings):
    catalogue_drift_seconds: float = Field(
        600.0,
        ge=5,
        description="Seconds between two drift checks of every system against the catalogue (one tracker worker checks; a changed catalogue is checked at once).",
    )
    catalogue_drift_sample: int = Field(
        20,
        ge=0,
        le=1000,
        description="Values the drift check samples per text-like column to tell whether it looks personal (read-only, never stored or logged: only counts).",
    )
    catalogue_drift_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds one system's drift check may take (schema and samples) before it counts as unreachable.",
    )
