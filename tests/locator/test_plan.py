"""The plan is derived from the catalogue alone: one statement per system, every searchable table."""

from __future__ import annotations

from services.catalogue.model import Catalogue, IdentifierType
from services.systems.plan import build_plans
from services.systems.postgresql import search_statement


def test_every_system_with_personal_identifiers_gets_one_statement_over_its_tables(
    catalogue: Catalogue,
) -> None:
    plans = build_plans(catalogue)
    assert set(plans) == set(catalogue.systems)
    for name, plan in plans.items():
        searchable = {
            t
            for t, table in catalogue.systems[name].tables.items()
            if table.belongs_to or any(c.identifier for c in table.columns.values())
        }
        assert set(plan.tables) == searchable
        assert search_statement(plan).count("union all") == len(searchable) - 1
    assert "organisations" not in plans["crm"].tables  # no identifiers, nothing to search
    assert plans["debt_collection"].parents == ("cases",)
    assert IdentifierType.customer_number in plans["invoicing"].kinds


def test_a_round_asks_only_the_systems_with_something_to_look_for(catalogue: Catalogue) -> None:
    plans = build_plans(catalogue)
    values = {IdentifierType.email: {"a@b.no"}}
    asked = {name for name, plan in plans.items() if plan.wants(values, {})}
    assert "aml" not in asked and "marketing" in asked
    assert plans["marketing"].arguments(values, {}) == [["a@b.no"], []]
