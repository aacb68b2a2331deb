"""The source systems' Prometheus metrics (every service that reads or changes them), labelled by source system (and an error's cause code) only.

Every system's series are exported at 0 when its connection is built (`services/systems/guard.py`):
the latency histogram and the errors with cause `TimeoutError` (a call past its timeout), so
`rate()` and `absent()` see each system before its first failure. Other causes (an engine's short
code or an exception's type name) appear when they first happen."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

CONNECTOR_SECONDS = Histogram(
    "dsr_connector_seconds",
    "Time of one search statement against a source system",
    ["system"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
CONNECTOR_ERRORS = Counter(
    "dsr_connector_errors_total", "Failed searches against a source system", ["system", "error"]
)

TIMEOUT = "TimeoutError"
"""The cause code of a call that ran past its timeout (`asyncio.wait_for`)."""
