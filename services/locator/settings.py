"""The locator's own knobs (`DSR_LOCATOR_*`), validated on load, with how it reaches the systems.

Kept beside the locator rather than in `services.runtime.settings` so that the runtime does not
grow a setting per service; the README's configuration table lists them too.
"""

from __future__ import annotations

from pydantic import Field

from services.systems.settings import SystemsSettings


class LocatorSettings(SystemsSettings):
    """The systems' settings (one search's limits are the locator's first concern) and the search's."""

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
