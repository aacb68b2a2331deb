"""Prometheus metrics of the shared runtime. Labels are low-cardinality: never ids or personal data."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "dsr_events_consumed_total",
    "Events a consumer handled, by outcome",
    ["consumer", "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "dsr_event_handler_seconds",
    "Time to handle one event, inbox and effect included",
    ["consumer", "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
DEAD_LETTERS = Counter(
    "dsr_dead_letters_total", "Messages sent to the dead-letter topic", ["consumer", "reason"]
)
HANDLER_RETRIES = Counter("dsr_event_handler_retries_total", "Retried event handlings", ["consumer", "kind"])
OUTBOX_PUBLISHED = Counter("dsr_outbox_published_total", "Outbox events published", ["producer"])
PARTITIONS_RESTARTED = Counter(
    "dsr_consumer_partitions_restarted_total",
    "Partitions read again from their start because the broker had lost them",
    ["topic"],
)
CONSUMER_LAG = Gauge(
    "dsr_consumer_lag",
    "Messages on a consumer's assigned partitions it has not handled yet",
    ["consumer", "topic"],
)
OUTBOX_PENDING = Gauge(
    "dsr_outbox_pending_events", "Outbox events committed but not yet published", ["producer"]
)
