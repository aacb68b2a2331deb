"""How the loader reports progress, without depending on a terminal (the CLI adapts it to rich)."""

from __future__ import annotations

from typing import Protocol


class LoadProgress(Protocol):
    def phase(self, description: str, total: int) -> None:
        """A new phase begins, of `total` steps."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more of the current phase are done."""


class NoProgress:
    """Reports nothing."""

    def phase(self, description: str, total: int) -> None:
        return None

    def advance(self, steps: int = 1) -> None:
        return None
