"""Fault injection for the fault suite: crash this process at a named point.

`DSR_FAULT_CRASH_AT=<point>:<n>` makes the n-th passage through `point` SIGKILL the process,
e.g. `locator.after_commit:3` dies right after the third committed event, before its offset
is committed. Unset (always, outside tests) it costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get("DSR_FAULT_CRASH_AT")
    if not spec or ":" not in spec:
        return None
    point, _, nth = spec.rpartition(":")
    return point, int(nth)


def crash_point(point: str) -> None:
    target = _target()
    if target is None or target[0] != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == target[1]:
        os.kill(os.getpid(), signal.SIGKILL)
