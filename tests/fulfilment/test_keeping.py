"""The retention date an extract shows: the rule's period after the anchor date, or what it waits for."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.catalogue.model import Retention, RetentionKind, period_parts
from services.fulfilment.keeping import Anchor, add_period, retention_date, retention_view
from services.fulfilment.texts import texts

RULE = {"nb": "regel", "en": "rule"}
days = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))
periods = st.builds(
    lambda y, m, d: (
        "P" + (f"{y}Y" if y else "") + (f"{m}M" if m else "") + (f"{d}D" if d or not (y or m) else "")
    ),
    st.integers(0, 12),
    st.integers(0, 11),
    st.integers(0, 60),
)


def _after(period: str, anchor: str = "closed_on") -> Retention:
    return Retention(kind=RetentionKind.after_date, period=period, anchor=anchor, description=RULE)


@given(days, periods)
def test_the_date_is_never_before_the_anchor_and_at_most_the_period_later(day: dt.date, period: str) -> None:
    until = retention_date(_after(period), day)
    assert until is not None and until >= day
    years, months, extra = period_parts(period)
    assert (until - day).days <= 366 * years + 31 * months + extra


@given(days, days, periods)
def test_a_later_anchor_never_gives_an_earlier_date(a: dt.date, b: dt.date, period: str) -> None:
    first, second = sorted((a, b))
    assert add_period(first, period) <= add_period(second, period)


@given(days, st.integers(1, 10))
def test_whole_years_keep_the_day_or_fall_back_to_the_months_last_day(day: dt.date, years: int) -> None:
    until = add_period(day, f"P{years}Y")
    assert (until.year, until.month) == (day.year + years, day.month)
    assert until.day == day.day or (day.month, day.day, until.day) == (2, 29, 28)


def test_three_years_after_the_case_closed() -> None:
    assert add_period(dt.date(2026, 3, 1), "P3Y") == dt.date(2029, 3, 1)
    assert add_period(dt.date(2024, 2, 29), "P3Y") == dt.date(2027, 2, 28)
    assert add_period(dt.date(2026, 1, 31), "P1M") == dt.date(2026, 2, 28)


@given(st.one_of(st.none(), days))
def test_rules_without_a_period_have_no_date_but_say_what_they_wait_for(day: dt.date | None) -> None:
    for kind, wait in (
        (RetentionKind.purpose, texts("en").until_purpose),
        (RetentionKind.controller, texts("en").until_controller),
    ):
        rule = Retention(kind=kind, description=RULE)
        view = retention_view(rule, Anchor(rule, day), texts("en"), "en")
        assert view.date is None and view.until == wait


def test_an_open_case_says_so_and_an_unsubscribe_deletes_at_once() -> None:
    case = _after("P3Y")
    assert retention_view(case, Anchor(case, None), texts("nb"), "nb").until == texts("nb").until_case_closed
    assert (
        retention_view(case, Anchor(case, None), texts("en"), "en").until
        == "while the case is open; the date is set when the case is closed"
    )
    crm = _after("P3Y", "relationship_ended_on")
    assert (
        retention_view(crm, Anchor(crm, None), texts("en"), "en").until == texts("en").until_relationship_ends
    )
    newsletter = Retention(kind=RetentionKind.on_event, anchor="unsubscribed_at", description=RULE)
    assert (
        retention_view(newsletter, Anchor(newsletter, None), texts("en"), "en").until
        == texts("en").until_unsubscribed
    )
    gone = retention_view(newsletter, Anchor(newsletter, dt.date(2026, 5, 1)), texts("en"), "en")
    assert gone.date == dt.date(2026, 5, 1)


def test_a_followed_row_that_was_not_found_gives_no_date() -> None:
    follows = Retention(
        kind=RetentionKind.follows,
        follows="debt_collection.cases",
        link="case_number",
        description={"nb": "med saken", "en": "with the case"},
    )
    case = _after("P3Y")
    view = retention_view(follows, Anchor(case, None, found=False), texts("en"), "en")
    assert view.rule == "with the case" and view.date is None and view.until == texts("en").until_unknown
    closed = retention_view(follows, Anchor(case, dt.date(2025, 6, 30)), texts("en"), "en")
    assert closed.date == dt.date(2028, 6, 30)
