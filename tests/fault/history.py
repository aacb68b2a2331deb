"""The fault suite's history: every client call and every fault, with times, as a Jepsen test keeps it.

A call ends `ok` (acknowledged, with the request id it got), `fail` (a definite answer: nothing was
stored for it) or `unknown` (a timeout or a dropped connection: it may or may not have been stored).
Times are seconds since the run began (monotonic clock).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["ok", "fail", "unknown"]


@dataclass
class Op:
    client: str
    op: str  # submit_http, submit_kafka (the produce), outcome (from the outcomes topic), lookup
    key: str  # the idempotency key
    request_type: str
    started: float
    ended: float | None = None
    outcome: Outcome | None = None
    request_id: str | None = None
    status: int | None = None  # HTTP status, when there was one
    reason: str | None = None  # a reason code, an HTTP error's code, or an exception's class


@dataclass
class Fault:
    name: str
    started: float
    ended: float | None = None
    detail: str = ""
    recovered: float | None = None  # when the first request after the fault's end completed


@dataclass
class History:
    origin: float = field(default_factory=time.monotonic)
    ops: list[Op] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def now(self) -> float:
        return round(time.monotonic() - self.origin, 3)

    def invoke(self, client: str, op: str, key: str, request_type: str) -> Op:
        entry = Op(client, op, key, request_type, self.now())
        self.ops.append(entry)
        return entry

    def complete(
        self,
        entry: Op,
        outcome: Outcome,
        *,
        request_id: str | None = None,
        status: int | None = None,
        reason: str | None = None,
    ) -> None:
        entry.ended = self.now()
        entry.outcome = outcome
        entry.request_id = request_id
        entry.status = status
        entry.reason = reason

    def fault(self, name: str, detail: str = "") -> Fault:
        entry = Fault(name, self.now(), detail=detail)
        self.faults.append(entry)
        return entry

    def end(self, entry: Fault) -> None:
        entry.ended = self.now()

    def acknowledged(self) -> dict[str, set[str]]:
        """Request ids each idempotency key was acknowledged with (more than one is a bug)."""
        found: dict[str, set[str]] = {}
        for entry in self.ops:
            if entry.outcome == "ok" and entry.request_id is not None:
                found.setdefault(entry.key, set()).add(entry.request_id)
        return found

    def keys(self) -> dict[str, str]:
        """Every idempotency key used, with its request type."""
        return {entry.key: entry.request_type for entry in self.ops}

    def to_json(self) -> dict[str, Any]:
        return {"ops": [asdict(o) for o in self.ops], "faults": [asdict(f) for f in self.faults]}

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")
