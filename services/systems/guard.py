"""The one retry policy every engine shares: a timeout per call, a few attempts with doubling
waits, then a cool-down during which the system counts as down without being asked.

Only failures an engine declares transient are retried; all of them end as `SystemUnknown` with a
short cause code (never a message that could carry an answer's content).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from services.systems.contract import SystemUnknown
from services.systems.metrics import CONNECTOR_ERRORS, CONNECTOR_SECONDS, TIMEOUT

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    """How long and how often a system is asked (DSR_LOCATOR_SYSTEM_*)."""

    timeout: float = 2.0
    attempts: int = 3
    backoff: float = 0.05
    cooldown: float = 5.0
    connections: int = 4


class Retrying:
    """Runs one system's calls under `Limits`; `transient` are the exception types worth a retry."""

    def __init__(self, system: str, limits: Limits, transient: tuple[type[BaseException], ...]) -> None:
        self.system = system
        CONNECTOR_SECONDS.labels(system)  # exported at 0 from start-up
        CONNECTOR_ERRORS.labels(system, TIMEOUT)
        self.limits = limits
        self.transient: tuple[type[BaseException], ...] = (OSError, TimeoutError, SystemUnknown, *transient)
        self._down_until = 0.0
        self._down_cause = ""

    async def run(
        self, operation: str, call: Callable[[], Awaitable[T]], *, attempts: int | None = None
    ) -> T:
        limits = self.limits
        if limits.cooldown and time.monotonic() < self._down_until:
            # Just failed: answer at once, so a batch of requests does not wait out the timeouts
            # one by one while the system is down (each request waits and is retried later).
            raise SystemUnknown(self.system, self._down_cause)
        delay = limits.backoff
        cause = "unknown"
        tries = attempts or limits.attempts
        for attempt in range(1, tries + 1):
            started = time.perf_counter()
            try:
                result = await asyncio.wait_for(call(), limits.timeout)
                if operation == "search":
                    CONNECTOR_SECONDS.labels(self.system).observe(time.perf_counter() - started)
                return result
            except self.transient as exc:
                cause = exc.cause if isinstance(exc, SystemUnknown) else type(exc).__name__
                CONNECTOR_ERRORS.labels(self.system, cause).inc()
                log.warning(
                    "source system call failed",
                    extra={"system": self.system, "operation": operation, "attempt": attempt, "error": cause},
                )
                retry_after = getattr(exc, "retry_after", None)
            if attempt < tries:
                await asyncio.sleep(max(delay, retry_after or 0.0))
                delay *= 2
        self._down_until, self._down_cause = time.monotonic() + limits.cooldown, cause
        raise SystemUnknown(self.system, cause)
