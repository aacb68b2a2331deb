"""Prometheus naming conventions of every metric the services export: base units only (seconds,
bytes, ratios; a dashboard picks the display unit), and labels from a small known set (low
cardinality, never an id or personal data)."""

from __future__ import annotations

import re

import pytest
from prometheus_client import REGISTRY

from tests.deploy.test_dashboard import exported_metric_names

NON_BASE_UNITS = (
    "ns",
    "nanoseconds",
    "us",
    "microseconds",
    "ms",
    "millis",
    "milliseconds",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "kb",
    "kilobytes",
    "mb",
    "megabytes",
    "gb",
    "gigabytes",
    "percent",
)
_UNIT = re.compile(rf"_({'|'.join(NON_BASE_UNITS)})(_total|_bucket|_sum|_count|_created|_info)?$")
# Every label a service's metric may carry: each has a bounded set of values (names from the
# catalogue, the topic registry and the code's own enums), none an id, a reference or a person's data.
ALLOWED_LABELS = {
    "consumer",
    "event_type",
    "outcome",
    "reason",
    "kind",
    "producer",
    "topic",
    "system",
    "error",
    "state",
    "status",
    "type",
    "channel",
    "bucket",
    "scope",
    "le",
}


def non_base_unit_names(names: set[str]) -> list[str]:
    return sorted(name for name in names if _UNIT.search(name))


def test_no_exported_metric_name_ends_in_a_non_base_unit() -> None:
    names = {name for name in exported_metric_names() if name.startswith("dsr_")}
    assert "dsr_request_time_to_complete_seconds_bucket" in names
    assert not non_base_unit_names(names), "use seconds (or bytes, ratios) and the panel's unit"


@pytest.mark.parametrize(
    "name",
    [
        "dsr_request_time_to_complete_days",
        "dsr_request_time_to_complete_days_bucket",
        "dsr_handler_ms",
        "dsr_wait_minutes_total",
        "dsr_outage_hours_sum",
    ],
)
def test_the_unit_check_finds_non_base_units(name: str) -> None:
    assert non_base_unit_names({name}) == [name]


def test_base_units_and_plain_counts_pass_the_unit_check() -> None:
    names = {"dsr_event_handler_seconds_bucket", "dsr_requests_open_by_days_left", "dsr_consumer_lag"}
    assert non_base_unit_names(names) == []


def test_every_exported_label_is_a_known_low_cardinality_one() -> None:
    exported_metric_names()  # imports every service's metric module
    labels = set()
    # The declared label names, also of families without a child yet (prometheus_client's own
    # bookkeeping: the registry's collectors are the metric objects themselves).
    for collector in list(REGISTRY._collector_to_names):
        name = getattr(collector, "_name", "")
        if name.startswith("dsr_"):
            labels |= {(name, label) for label in getattr(collector, "_labelnames", ())}
    assert ("dsr_dead_letters", "reason") in labels
    unknown = sorted(f"{family}{{{label}}}" for family, label in labels if label not in ALLOWED_LABELS)
    assert not unknown, f"labels outside the known low-cardinality set: {unknown}"
