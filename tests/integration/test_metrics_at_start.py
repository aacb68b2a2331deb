"""Right after start, before any event, `/metrics` already serves every labelled counter's known
series at 0: `rate()`, `increase()` and `absent()` alerts then work before the first event (a
counter first seen at 1 has no increase to show)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.erasure.metrics import KEPT_REASONS, PLAN_SCOPES, RECORD_OUTCOMES, RESCAN_OUTCOMES
from services.intake.domain.identifiers import REASON_CODES as INTAKE_REASON_CODES
from services.runtime.deadletter import REASON_CODES
from services.runtime.settings import Settings
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow

RUNTIME = {
    "dsr_events_consumed",
    "dsr_dead_letters",
    "dsr_event_handler_retries",
    "dsr_outbox_published",
    "dsr_consumer_partitions_restarted",
}
# The counter families each service increments (family names without `_total`).
COUNTERS = {
    "intake": RUNTIME,
    "locator": RUNTIME | {"dsr_connector_errors"},
    "fulfilment": RUNTIME
    | {
        "dsr_connector_errors",
        "dsr_erasure_plans",
        "dsr_erasure_records",
        "dsr_erasure_records_kept",
        "dsr_erasure_rescans",
        "dsr_erasure_unreachable",
    },
    "tracker": RUNTIME | {"dsr_sla_transitions", "dsr_redrives"},
    "notifier": RUNTIME,
}
CONSUMERS = {
    "intake": ["intake"],
    "locator": ["locator"],
    "fulfilment": ["fulfilment"],
    "tracker": ["tracker"],
    "notifier": ["notifier-requests", "notifier-fulfilled"],
}

Samples = dict[str, list[tuple[dict[str, str], float]]]


def _samples(text: str) -> tuple[Samples, dict[str, str]]:
    samples: Samples = {}
    types: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        samples[family.name] = [
            (dict(s.labels), s.value) for s in family.samples if not s.name.endswith("_created")
        ]
    return samples, types


def _has(samples: Samples, family: str, **labels: str) -> bool:
    return any(
        all(got.get(k) == v for k, v in labels.items()) and value == 0
        for got, value in samples.get(family, [])
    )


@pytest.fixture
def scraped(settings: Settings, tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every service started as `dsr up` starts it, `/metrics` read as soon as it is ready."""
    processes = {name: ServiceProcess(name, settings, tmp_path).start() for name in COUNTERS}
    try:
        for process in processes.values():
            process.wait_ready()
        return {name: httpx.get(f"{p.url}/metrics", timeout=5).text for name, p in processes.items()}
    finally:
        for process in processes.values():
            process.stop()


def test_every_service_exports_its_labelled_counters_at_zero_before_the_first_event(
    scraped: dict[str, str],
) -> None:
    problems = []
    for service, text in scraped.items():
        samples, types = _samples(text)
        for family in sorted(COUNTERS[service]):
            if types.get(family) != "counter":
                problems.append(f"{service}: {family} is not exported as a counter")
            elif not samples[family]:
                problems.append(f"{service}: {family} has no series before the first event")
            elif any(value != 0 for _, value in samples[family]):
                problems.append(f"{service}: {family} is not 0 before the first event")
        for consumer in CONSUMERS[service]:
            codes = (*REASON_CODES, *(INTAKE_REASON_CODES if service == "intake" else ()))
            problems += [
                f"{service}: no dead-letter series for {consumer} {code}"
                for code in codes
                if not _has(samples, "dsr_dead_letters", consumer=consumer, reason=code)
            ]
            problems += [
                f"{service}: no retry series for {consumer} {kind}"
                for kind in ("transient", "error")
                if not _has(samples, "dsr_event_handler_retries", consumer=consumer, kind=kind)
            ]
            if not _has(samples, "dsr_events_consumed", consumer=consumer, event_type="unknown"):
                problems.append(f"{service}: no dead-lettered undecodable series for {consumer}")
    assert not problems, "\n".join(problems)
    _the_series_alerts_and_panels_rely_on(scraped)


def _the_series_alerts_and_panels_rely_on(scraped: dict[str, str]) -> None:
    intake, _ = _samples(scraped["intake"])
    for outcome in ("handled", "duplicate", "dead_lettered"):
        assert _has(
            intake, "dsr_events_consumed", consumer="intake", event_type="request.submitted", outcome=outcome
        )
    assert _has(intake, "dsr_outbox_published", producer="intake")

    fulfilment, _ = _samples(scraped["fulfilment"])
    for outcome in RESCAN_OUTCOMES:
        assert _has(fulfilment, "dsr_erasure_rescans", outcome=outcome)
    for reason in KEPT_REASONS:
        assert _has(fulfilment, "dsr_erasure_records_kept", reason=reason)
    for scope in PLAN_SCOPES:
        assert _has(fulfilment, "dsr_erasure_plans", scope=scope, status="approved")
    for outcome in RECORD_OUTCOMES:
        assert _has(fulfilment, "dsr_erasure_records", system="crm", outcome=outcome)
    assert _has(fulfilment, "dsr_erasure_unreachable", system="crm")
    assert _has(fulfilment, "dsr_erasure_plans_open", state="overdue")
    assert _has(fulfilment, "dsr_erasure_system_seconds", system="crm")  # the histogram's _count, _sum
    assert _has(fulfilment, "dsr_connector_errors", system="crm", error="TimeoutError")

    tracker, _ = _samples(scraped["tracker"])
    for state in ("at_risk", "overdue"):
        assert _has(tracker, "dsr_sla_transitions", state=state)
    assert _has(tracker, "dsr_redrives")
