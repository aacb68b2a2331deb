"""Prometheus metrics of the shared runtime. Labels are low-cardinality: never ids or personal data.

Every labelled counter's known label sets are exported at 0 from start-up (`consumer_known`,
`producer_known`, `topic_known`), so `rate()`, `increase()` and `absent()` work before the first
event. Durations are in seconds (Prometheus base units); the dashboards choose the display unit."""

from __future__ import annotations

from collections.abc import Iterable

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

HANDLED_OUTCOMES = ("handled", "duplicate", "dead_lettered")
"""The outcomes of an event a consumer has a handler for; another type on its topic is `ignored`,
and a message that cannot be decoded is counted under event type `unknown` as `dead_lettered`."""
RETRY_KINDS = ("transient", "error")


def consumer_known(
    consumer: str, handled: Iterable[str], others: Iterable[str], reason_codes: Iterable[str]
) -> None:
    """Export a consumer's series at 0: its outcomes per event type, its dead letters per reason
    code, its retries per kind and its handler times per event type handled."""
    for event_type in handled:
        HANDLER_SECONDS.labels(consumer, event_type)
        for outcome in HANDLED_OUTCOMES:
            EVENTS_CONSUMED.labels(consumer, event_type, outcome)
    for event_type in others:
        EVENTS_CONSUMED.labels(consumer, event_type, "ignored")
    EVENTS_CONSUMED.labels(consumer, "unknown", "dead_lettered")
    for reason in reason_codes:
        DEAD_LETTERS.labels(consumer, reason)
    for kind in RETRY_KINDS:
        HANDLER_RETRIES.labels(consumer, kind)


def producer_known(producer: str) -> None:
    OUTBOX_PUBLISHED.labels(producer)
    OUTBOX_PENDING.labels(producer)


def topic_known(topic: str) -> None:
    PARTITIONS_RESTARTED.labels(topic)
