"""The locator's Prometheus metrics, labelled by source system only."""

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
