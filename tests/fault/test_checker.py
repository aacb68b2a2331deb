"""The checker on small hand-made histories: it passes a clean run and catches each kind of damage."""

from __future__ import annotations

import dataclasses
import itertools

from tests.fault.checker import (
    AuditEvent,
    Finding,
    Ledger,
    Request,
    StatusChange,
    check,
    personal_data_leaks,
)
from tests.fault.history import History

PATH = ["received", "verified", "locating", "fulfilling", "completed"]


def _history(*acks: tuple[str, str | None]) -> History:
    history = History(origin=0.0)
    for key, request_id in acks:
        op = history.invoke("c1", "submit_http", key, "access")
        if request_id is None:
            history.complete(op, "unknown", reason="ReadTimeout")
        else:
            history.complete(op, "ok", request_id=request_id, status=202)
    return history


def _request(
    ledger: Ledger, request_id: str, key: str, *, type_: str = "access", path: list[str] = PATH
) -> None:
    ledger.requests[request_id] = Request(request_id, type_, path[-1], key)
    ledger.statuses[request_id] = [StatusChange(s, None, float(i)) for i, s in enumerate(path)]
    audit = [AuditEvent(1, "received")]
    for before, after in itertools.pairwise(path):
        audit.append(AuditEvent(len(audit) + 1, "status_changed", before, after))
    if type_ == "erasure" and path[-1] == "completed":
        audit.append(AuditEvent(len(audit) + 1, "erasure_executed"))
    ledger.audit[request_id] = audit
    if type_ == "access" and path[-1] == "completed":
        ledger.artifacts.append((request_id, "extract_json", "application/json"))


def _clean() -> tuple[History, Ledger]:
    ledger = Ledger()
    _request(ledger, "r1", "k1")
    _request(ledger, "r2", "k2", type_="erasure")
    ledger.erasure_plans.append(("p2", "r2", "executed"))
    ledger.recipient_notices.append(("r2", "creditor", "erased"))
    ledger.notified_events.append(("e1", "r2", "creditor", "erased"))
    ledger.notified_events.append(("e1", "r2", "creditor", "erased"))  # the same event published twice: fine
    ledger.notices.append(("r1", "completion", "a@example.no"))
    return _history(("k1", "r1"), ("k2", None), ("k2", "r2")), ledger


def _checks(findings: list[Finding]) -> set[str]:
    return {f.check for f in findings}


def test_a_clean_run_has_no_findings() -> None:
    history, ledger = _clean()
    assert check(history, ledger) == []


def test_a_lost_request_is_found() -> None:
    history, ledger = _clean()
    del ledger.requests["r1"]
    assert "lost" in _checks(check(history, ledger))


def test_one_key_acknowledged_with_two_ids_is_found() -> None:
    history, ledger = _clean()
    _request(ledger, "r3", "k1")
    history.complete(history.invoke("c2", "submit_http", "k1", "access"), "ok", request_id="r3")
    found = check(history, ledger)
    assert [f for f in found if f.check == "key_gave_two_requests" and f.subject == "k1"]


def test_a_request_no_client_sent_is_found() -> None:
    history, ledger = _clean()
    _request(ledger, "r9", "k9")
    assert "phantom" in _checks(check(history, ledger))


def test_a_request_left_unfinished_is_found_unless_a_person_must_decide() -> None:
    history, ledger = _clean()
    _request(ledger, "r3", "k3", path=PATH[:3])
    history.complete(history.invoke("c1", "submit_http", "k3", "access"), "ok", request_id="r3")
    assert "not_terminal" in _checks(check(history, ledger))
    path = [*PATH[:3], "needs_review"]
    _request(ledger, "r3", "k3", path=path)
    ledger.statuses["r3"][-1] = StatusChange("needs_review", "ambiguous_identity", 3.0)
    assert "not_terminal" in _checks(check(history, ledger))
    assert check(history, ledger, person_decides=lambda reason: reason == "ambiguous_identity") == []


def test_a_double_extract_is_found() -> None:
    history, ledger = _clean()
    ledger.artifacts.append(("r1", "extract_json", "application/json"))
    assert "artifact_twice" in _checks(check(history, ledger))


def test_a_completed_access_request_without_extract_is_found() -> None:
    history, ledger = _clean()
    ledger.artifacts.clear()
    assert "extract_missing" in _checks(check(history, ledger))


def test_a_second_execution_or_plan_is_found() -> None:
    history, ledger = _clean()
    ledger.audit["r2"].append(AuditEvent(len(ledger.audit["r2"]) + 1, "erasure_executed"))
    ledger.erasure_plans.append(("p3", "r2", "executed"))
    assert {"execution_twice", "plan_twice"} <= _checks(check(history, ledger))


def test_a_recipient_told_twice_is_found() -> None:
    history, ledger = _clean()
    ledger.recipient_notices.append(("r2", "creditor", "erased"))
    ledger.notified_events.append(("e2", "r2", "creditor", "erased"))
    ledger.notices.append(("r1", "completion", "a@example.no"))
    ledger.mails += ["same", "same"]
    assert {"recipient_notice_twice", "recipient_notified_twice", "notice_twice", "mail_twice"} <= _checks(
        check(history, ledger)
    )


def test_a_gap_in_the_audit_trail_is_found() -> None:
    history, ledger = _clean()
    del ledger.audit["r1"][2]  # verified -> locating is missing
    ledger.audit["r1"] = [dataclasses.replace(e, seq=i + 1) for i, e in enumerate(ledger.audit["r1"])]
    found = _checks(check(history, ledger))
    assert {"audit_order", "audit_incomplete"} <= found


def test_a_missing_sequence_number_or_broken_chain_is_found() -> None:
    history, ledger = _clean()
    del ledger.audit["r1"][1]
    ledger.broken_chains["r2"] = "the link to the previous event is broken"
    assert {"audit_gap", "audit_chain"} <= _checks(check(history, ledger))


def test_a_step_applied_twice_or_out_of_order_is_found() -> None:
    history, ledger = _clean()
    changes = ledger.statuses["r1"]
    changes.insert(3, StatusChange("locating", None, 2.5))
    assert "step_twice" in _checks(check(history, ledger))
    history, ledger = _clean()
    ledger.statuses["r1"][2] = StatusChange("locating", None, 0.5)
    ledger.statuses["r1"][1] = StatusChange("verified", None, 1.5)
    assert "history_order" in _checks(check(history, ledger))
    history, ledger = _clean()
    ledger.statuses["r1"] = [StatusChange(s, None, 0.0) for s in ["received", "locating", "completed"]]
    assert "illegal_step" in _checks(check(history, ledger))


def test_personal_data_in_a_log_is_found() -> None:
    texts = {"intake.log": "masked ***********", "locator.log": "subject 01017012345 found"}
    assert personal_data_leaks(["01017012345"], texts) == [
        Finding("personal_data", "locator.log", "an identifier of 11 characters")
    ]
    assert personal_data_leaks(["01017012345"], {"intake.log": "nothing"}) == []
    assert personal_data_leaks(["91234567"], {"metrics": "start 1791234567890.5"}) == []  # inside a number
