"""Erasure's metrics move where the flow records the effect: a plan stored, a system's part
recorded (records erased and anonymised, its time), the plan's end (records kept by reason code,
referred, the re-scan's outcome). Labels are systems, scopes, outcomes and reason codes only."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY, generate_latest

from tests.erasure.conftest import Harness
from tests.support import behind

OPEN_CASE_DEBTOR = "14837810060"


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


Snapshot = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _snapshot() -> Snapshot:
    names = (
        "dsr_erasure_plans_total",
        "dsr_erasure_records_total",
        "dsr_erasure_records_kept_total",
        "dsr_erasure_rescans_total",
        "dsr_erasure_system_seconds_count",
    )
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if sample.name in names
    }


def _delta(before: Snapshot, after: Snapshot) -> Snapshot:
    return {
        key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)
    }


async def test_an_erasure_counts_its_plan_records_time_per_system_and_a_clean_rescan(fresh: Harness) -> None:
    before = _snapshot()
    request_id = await fresh.located("open_case_debtor")
    await fresh.fulfil(request_id)
    assert await fresh.status(request_id) == "completed"
    delta = _delta(before, _snapshot())

    def moved(name: str, **labels: str) -> float:
        return delta.get((name, tuple(sorted(labels.items()))), 0.0)

    assert moved("dsr_erasure_plans_total", scope="erasure", status="approved") == 1
    assert moved("dsr_erasure_rescans_total", outcome="clean") == 1
    assert moved("dsr_erasure_rescans_total", outcome="found_records") == 0
    # the case is kept while it is open; its notes are erased (cf. the showcase test)
    assert moved("dsr_erasure_records_kept_total", reason="hold:case_open") >= 1
    assert moved("dsr_erasure_records_total", system="debt_collection", outcome="kept") >= 1
    assert moved("dsr_erasure_records_total", system="debt_collection", outcome="erased") >= 1
    systems = {dict(labels)["system"] for name, labels in delta if name == "dsr_erasure_system_seconds_count"}
    assert "debt_collection" in systems
    text = generate_latest(REGISTRY).decode()
    erasure_lines = [line for line in text.splitlines() if line.startswith("dsr_erasure")]
    assert erasure_lines and not any(OPEN_CASE_DEBTOR in line or "DSR-TEST" in line for line in erasure_lines)
    assert str(request_id) not in text


async def test_a_rescan_that_finds_records_is_counted_as_found_records(fresh: Harness) -> None:
    found_before = _value("dsr_erasure_rescans_total", outcome="found_records")
    clean_before = _value("dsr_erasure_rescans_total", outcome="clean")
    request_id = await fresh.located("unknown_person")
    await fresh.deliver(request_id)
    download = {
        "id": 990000003,
        "email": "eva.sorbotten@eksempel.no",
        "asset": "guide.pdf",
        "downloaded_at": datetime.now(UTC),
        "restricted": False,
    }
    await behind.insert(fresh.demo, "marketing", "downloads", download)
    await fresh.fulfil_pending()
    assert await fresh.status(request_id) == "needs_review"
    assert _value("dsr_erasure_rescans_total", outcome="found_records") == found_before + 1
    assert _value("dsr_erasure_rescans_total", outcome="clean") == clean_before
