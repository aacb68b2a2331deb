from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.tracker.deadlines import SlaState, days_left_bucket, escalates, sla_state

TODAY = date(2026, 11, 24)


def test_states_around_the_due_date() -> None:
    assert sla_state(TODAY + timedelta(days=8), TODAY, at_risk_days=7) is SlaState.on_track
    assert sla_state(TODAY + timedelta(days=7), TODAY, at_risk_days=7) is SlaState.at_risk
    assert sla_state(TODAY, TODAY, at_risk_days=7) is SlaState.at_risk  # the due date itself still counts
    assert sla_state(TODAY - timedelta(days=1), TODAY, at_risk_days=7) is SlaState.overdue


@given(st.integers(-400, 400), st.integers(0, 30))
def test_state_only_worsens_as_days_pass(offset: int, at_risk_days: int) -> None:
    due = TODAY + timedelta(days=offset)
    today_state = sla_state(due, TODAY, at_risk_days=at_risk_days)
    tomorrow_state = sla_state(due, TODAY + timedelta(days=1), at_risk_days=at_risk_days)
    assert tomorrow_state == today_state or escalates(today_state, tomorrow_state)


def test_buckets() -> None:
    assert [days_left_bucket(TODAY + timedelta(days=d), TODAY) for d in (-1, 0, 3, 8, 15, 32)] == [
        "overdue",
        "0-2",
        "3-7",
        "8-14",
        "15-31",
        "32+",
    ]
