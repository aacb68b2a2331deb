"""A withdrawn consent on a table that also rests on another basis, decided without I/O: the
catalogue's shape and its errors, the decision per row, the read-back check, the outcome's words."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.catalogue.model import Catalogue, Table
from services.erasure.certificate import check_rescan, purposes_outcome
from services.erasure.plan import ErasurePlan, PlannedRecord, build_plan
from services.erasure.purposes import PurposeStop, consent_stop, is_mixed, unstopped
from services.erasure.render import certificate_html, certificate_pdf, purpose_lines, stops_sentence
from services.erasure.retention import Action, Method, RecordFacts
from services.erasure.scopes import CONSENT_HELD, Scope, concerns, decide_in_scope

TODAY = date(2026, 11, 24)

_NB = {
    "Sign-ups.": "Påmeldinger.",
    "Running the event.": "Å gjennomføre arrangementet.",
    "Inviting you again.": "Å invitere deg igjen.",
    "A claim.": "Et krav.",
    "Other.": "Annet.",
    "Consent.": "Samtykke.",
}


def _t(en: str) -> dict[str, str]:
    """A catalogue text in both languages (the one-letter names stand for themselves in both)."""
    return {"nb": _NB.get(en, en), "en": en}


def _table(**overrides: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "description": _t("Sign-ups."),
        "purpose": _t("Running the event."),
        "legal_basis": ["6(1)(a)", "6(1)(f)"],
        "primary_key": ["id"],
        "restriction": {"column": "restricted"},
        "columns": {
            "id": {"type": "bigint", "categories": ["system.key"]},
            "email": {"type": "text", "categories": ["user.contact.email"], "identifier": "email"},
            "phone": {"type": "text", "categories": ["user.contact.phone"], "identifier": "phone"},
            "invitations_stopped": {"type": "boolean", "categories": ["system.processing"]},
            "restricted": {"type": "boolean", "categories": ["system.processing"]},
        },
        "purposes": [
            {"purpose": _t("Running the event."), "legal_basis": "6(1)(f)"},
            {"purpose": _t("Inviting you again."), "legal_basis": "6(1)(a)", "columns": ["phone"]},
        ],
    }
    table.update(overrides)
    return table


def _error(**overrides: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        Table.model_validate(_table(**overrides))
    return str(raised.value)


def test_the_shape_validates_and_every_mistake_is_named() -> None:
    assert is_mixed(Table.model_validate(_table()))
    assert "list the `purposes`" in _error(purposes=[])
    assert "6(1)(b) is not among the table's legal_basis" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["phone"]},
            {"purpose": _t("c"), "legal_basis": "6(1)(b)"},
        ]
    )
    assert "says how it stops" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)"},
        ]
    )
    assert "purposes.1.columns.0: no column 'fax'" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["fax"]},
        ]
    )
    assert "a primary key column cannot be emptied" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["id"]},
        ]
    )
    assert "must be a boolean column" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "restriction": {"column": "email"}},
        ]
    )
    assert "is the table's restriction" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "restriction": {"column": "restricted"}},
        ]
    )
    assert "only a purpose resting on consent" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)", "columns": ["email"]},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["phone"]},
        ]
    )
    assert "no purpose rests on 6(1)(f)" in _error(
        purposes=[{"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["phone"]}]
    )
    assert "held for purposes.1 already" in _error(
        purposes=[
            {"purpose": _t("a"), "legal_basis": "6(1)(f)"},
            {"purpose": _t("b"), "legal_basis": "6(1)(a)", "columns": ["phone"]},
            {"purpose": _t("c"), "legal_basis": "6(1)(a)", "columns": ["phone"]},
        ]
    )
    # consent alone needs no purposes; another basis alone neither
    Table.model_validate(_table(legal_basis=["6(1)(a)"], purposes=[]))
    Table.model_validate(_table(legal_basis=["6(1)(b)", "6(1)(f)"], purposes=[]))


def test_the_demo_catalogue_says_what_a_withdrawn_consent_stops(catalogue: Catalogue) -> None:
    marketing = catalogue.systems["marketing"].tables
    assert concerns(catalogue, Scope.consent_withdrawal, "marketing", "newsletter_subscriptions")
    assert concerns(catalogue, Scope.consent_withdrawal, "marketing", "event_signups")
    assert not concerns(catalogue, Scope.consent_withdrawal, "debt_collection", "case_notes")
    assert consent_stop(marketing["event_signups"]).columns == ("phone", "organisation")
    assert consent_stop(marketing["downloads"]).columns == ("email",)
    mixed = [
        (s, t)
        for s, system in catalogue.systems.items()
        for t, table in system.tables.items()
        if is_mixed(table)
    ]
    assert sorted(mixed) == [("marketing", "downloads"), ("marketing", "event_signups")]


def _facts(
    values: dict[str, Any] | None, system: str = "marketing", table: str = "event_signups"
) -> RecordFacts:
    return RecordFacts(system, table, ("7",), values)


def test_a_mixed_table_keeps_the_row_and_stops_the_consent_purposes(catalogue: Catalogue) -> None:
    values = {"id": 7, "email": "a@b.no", "phone": "+4791234567", "organisation": "Org", "restricted": False}
    decision = decide_in_scope(catalogue, Scope.consent_withdrawal, _facts(values), TODAY)
    assert decision.action is Action.restrict and decision.kept
    assert decision.method is Method.null_columns and decision.columns == ("phone", "organisation")
    assert not decision.mark_restricted and decision.review is None
    assert decision.purposes is not None
    assert [p.legal_basis for p in decision.purposes.stopped] == ["6(1)(a)"]
    assert [p.legal_basis for p in decision.purposes.continuing] == ["6(1)(f)"]
    assert decision.reason.code == "other_basis" and "GDPR Art. 7(3)" in decision.reason.legal_basis
    # consent alone: erased, as before
    alone = decide_in_scope(
        catalogue,
        Scope.consent_withdrawal,
        _facts({**values, "unsubscribed_at": None}, table="newsletter_subscriptions"),
        TODAY,
    )
    assert alone.action is Action.erase and alone.purposes is None
    # a full erasure of the same row still erases it
    assert decide_in_scope(catalogue, Scope.erasure, _facts(values), TODAY).action is Action.erase


def test_the_plan_keeps_the_stop_through_json(catalogue: Catalogue) -> None:
    values = {"id": 7, "email": "a@b.no", "phone": "+4791234567", "organisation": "Org", "restricted": False}
    plan = build_plan(catalogue, [_facts(values)], today=TODAY, scope=Scope.consent_withdrawal)
    [(system, [record])] = plan.by_system()
    assert system == "marketing" and record.decision.purposes is not None
    again = ErasurePlan.from_json(plan.to_json())
    assert again.records == plan.records


def _held_table(mark: bool) -> Table:
    purposes: list[dict[str, Any]] = [
        {"purpose": _t("Running the event."), "legal_basis": "6(1)(f)"},
        {
            "purpose": _t("Inviting you again."),
            "legal_basis": "6(1)(a)",
            "columns": ["phone"],
            **({"restriction": {"column": "invitations_stopped"}} if mark else {}),
        },
    ]
    return Table.model_validate(
        _table(
            purposes=purposes,
            erasure={
                "strategy": "delete_row",
                "holds": [
                    {"column": "email", "present": True, "exemptions": ["17(3)(e)"], "reason": _t("A claim.")}
                ],
            },
        )
    )


def _with_table(catalogue: Catalogue, table: Table) -> Catalogue:
    system = catalogue.systems["marketing"]
    tables = {**system.tables, "event_signups": table}
    return catalogue.model_copy(
        update={"systems": {**catalogue.systems, "marketing": system.model_copy(update={"tables": tables})}}
    )


def test_a_legal_hold_empties_nothing_and_marks_or_asks_a_person(catalogue: Catalogue) -> None:
    values = {
        "id": 7,
        "email": "a@b.no",
        "phone": "+4791234567",
        "invitations_stopped": False,
        "restricted": False,
    }
    marked = decide_in_scope(
        _with_table(catalogue, _held_table(True)), Scope.consent_withdrawal, _facts(values), TODAY
    )
    assert marked.columns == () and marked.method is Method.none and marked.marks == ("invitations_stopped",)
    assert marked.purposes is not None and marked.purposes.held_by == "hold:hold" and marked.review is None
    unmarked = decide_in_scope(
        _with_table(catalogue, _held_table(False)), Scope.consent_withdrawal, _facts(values), TODAY
    )
    assert unmarked.columns == () and unmarked.marks == () and unmarked.review == CONSENT_HELD


COLUMNS = ("a", "b", "c", "d", "e")


@st.composite
def mixed_tables(draw: st.DrawFn) -> Table:
    """A table on consent and legitimate interest whose columns are split between its purposes."""
    owner = draw(
        st.lists(
            st.sampled_from(["consent", "other", "shared"]), min_size=len(COLUMNS), max_size=len(COLUMNS)
        )
    )
    consent_columns = [c for c, o in zip(COLUMNS, owner, strict=True) if o == "consent"]
    mark = draw(st.booleans()) or not consent_columns
    columns: dict[str, Any] = {"id": {"type": "bigint", "categories": ["system.key"]}}
    columns.update({c: {"type": "text", "categories": ["user.contact.email"]} for c in COLUMNS})
    columns["mark"] = {"type": "boolean", "categories": ["system.processing"]}
    columns["restricted"] = {"type": "boolean", "categories": ["system.processing"]}
    other_basis = draw(st.sampled_from(["6(1)(b)", "6(1)(c)", "6(1)(f)"]))
    return Table.model_validate(
        _table(
            legal_basis=["6(1)(a)", other_basis],
            columns=columns,
            purposes=[
                {"purpose": _t("Other."), "legal_basis": other_basis},
                {
                    "purpose": _t("Consent."),
                    "legal_basis": "6(1)(a)",
                    "columns": consent_columns,
                    **({"restriction": {"column": "mark"}} if mark else {}),
                },
            ],
            erasure={"strategy": "delete_row"},
        )
    )


@settings(deadline=None, max_examples=150)
@given(mixed_tables(), st.dictionaries(st.sampled_from(COLUMNS), st.one_of(st.none(), st.text(max_size=5))))
def test_a_withdrawn_consent_touches_only_what_rests_on_it(
    catalogue: Catalogue, table: Table, values: dict[str, Any]
) -> None:
    row = {"id": 7, "mark": False, "restricted": False, **values}
    decision = decide_in_scope(_with_table(catalogue, table), Scope.consent_withdrawal, _facts(row), TODAY)
    [consent] = table.consent_purposes()
    assert set(decision.columns) == set(consent.columns)  # exactly the consent-only columns, never a key
    assert decision.marks == ((consent.restriction.column,) if consent.restriction else ())
    assert not decision.mark_restricted and decision.kept and decision.changes_source
    stop = decision.purposes
    assert stop is not None and {p.legal_basis for p in stop.stopped} == {"6(1)(a)"}
    assert "6(1)(a)" not in {p.legal_basis for p in stop.continuing} and stop.continuing
    # the row as the plan leaves it proves the stop; any emptied column with a value again, or
    # the mark unset, does not
    after = {**row, **dict.fromkeys(decision.columns), **dict.fromkeys(decision.marks, True)}
    assert unstopped(stop, after) == ()
    for column in decision.columns:
        assert unstopped(stop, {**after, column: "x"}) == (column,)
    for mark in decision.marks:
        assert unstopped(stop, {**after, mark: False}) == (mark,)
    assert unstopped(stop, None) == ()  # a row no longer there holds nothing


def _plan_with_stop(catalogue: Catalogue) -> tuple[ErasurePlan, PlannedRecord]:
    values = {"id": 7, "email": "a@b.no", "phone": "+4791234567", "organisation": "Org", "restricted": False}
    plan = build_plan(catalogue, [_facts(values)], today=TODAY, scope=Scope.consent_withdrawal)
    return plan, plan.records[0]


def test_the_check_after_the_plan_is_unclean_while_a_stop_does_not_hold(catalogue: Catalogue) -> None:
    plan, _record = _plan_with_stop(catalogue)
    row = ("marketing", "event_signups", ("7",))
    found = [("marketing", "event_signups", {"id": "7"}, [{"via": "email"}])]
    clean = check_rescan(plan, found, stops={row: ()})
    assert clean.clean and clean.as_dict()["stops_checked"] == 1 and clean.as_dict()["unstopped"] == []
    dirty = check_rescan(plan, found, stops={row: ("phone",)})
    assert not dirty.clean and dirty.as_dict()["unstopped"][0]["columns"] == ["phone"]
    assert "stops_checked" not in check_rescan(plan, found).as_dict()  # other plans: as before


def test_the_outcome_says_what_stopped_and_what_goes_on_in_both_languages(catalogue: Catalogue) -> None:
    plan, _record = _plan_with_stop(catalogue)
    [line] = purposes_outcome(catalogue, plan, "nb")
    assert line["records"] == 1 and line["columns_emptied"] == ["phone", "organisation"]
    assert line["stopped"][0]["basis"] == {"en": "consent", "nb": "samtykke"}
    assert line["continuing"][0]["basis"]["nb"] == "vår berettigede interesse"
    [english] = purposes_outcome(catalogue, plan, "en")
    [en] = purpose_lines([english], "en")
    [nb] = purpose_lines([line], "nb")
    assert "Stopped: Calling you about later events" in en and "(basis: our legitimate interest)" in en
    assert "Stanset:" in nb and "Fortsetter:" in nb and "(grunnlag: samtykke)" in nb
    # the catalogue's words in the request's language: the system, the table, each purpose
    assert nb.startswith("Markedsføring, Påmeldinger til arrangementer og seminarer (også webinarer) (1)")
    assert "Å ringe deg om senere arrangementer" in nb and "Calling" not in nb and "Running" not in nb
    assert en.startswith("Marketing, Sign-ups for events and webinars (1)") and "Å " not in en
    content: dict[str, Any] = {
        "reference": "DSR-1",
        "executed_at": "2026-11-24T10:00:00+00:00",
        "summary": {"erased": 0, "anonymised": 0, "kept": 1, "referred": 0},
        "erased": [],
        "anonymised": [],
        "kept": [],
        "referred": [],
        "controllers": {},
        "recipients_notified": [],
        "manual": [],
        "purposes": [line],
        "rescan": {
            "clean": True,
            "searched": True,
            "found": 1,
            "unexpected": [],
            "expected": [],
            "stops_checked": 1,
            "unstopped": [],
        },
    }
    html = certificate_html(content, "nb")
    assert "Formål som er stanset" in html and "leste 1 poster på nytt" in html
    assert "Purposes stopped" in certificate_html(content, "en")
    assert certificate_pdf(content, "en").startswith(b"%PDF")
    failed = {**content["rescan"], "clean": False, "unstopped": [{"system": "marketing"}]}
    assert "a person follows up" in stops_sentence(failed, "en")


def test_a_stop_survives_its_own_json() -> None:
    stop = consent_stop(Table.model_validate(_table()))
    assert PurposeStop.from_dict(stop.as_dict()) == stop
