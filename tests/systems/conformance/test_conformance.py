"""The `SourceSystem` contract, checked the same way on every engine (`engines.ENGINE_FACTORIES`):
each test starts from the fixture's rows (`restore()`), works through a new adapter built as the
services build it, and checks effects on the data read straight from the server (`dump()`).

Nothing here prints a value: assertion messages name tables and keys only.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from services.catalogue.model import IdentifierType
from services.locator.locate import Located, Locator
from services.systems.contract import Applied, Row, RowChange, SourceRow, SourceSystem, SystemUnknown
from services.systems.guard import Limits
from services.systems.plan import SystemPlan, build_plans
from services.systems.sample import KARI_ID, OLA_ID, ROWS, SYSTEM
from tests.systems.conformance.fixture import EngineFixture

K = IdentifierType
FAST = Limits(timeout=1.0, attempts=2, backoff=0.01, cooldown=0.0)
SQL_ENGINES = ("postgresql", "sql")

HOSTILE = [
    "' or 1=1 --",
    "1 or 1=1",
    "1; delete from customers",
    "%",
    "_",
    "a\x00b",
    "x" * 10_000,
    "k\u0430ri@example.no",  # a Cyrillic a
    "".join(chr(0xFF10 + int(digit)) for digit in KARI_ID),  # Kari's national id in full-width digits
    "",
]
"""Values that must find nothing, raise nothing and change nothing, as identifiers and as keys."""

NOT_QUITE = {
    K.email: ["KARI@example.no", "kari@example.no ", "Kari@Example.no"],
    K.customer_number: ["k-1001", "K-1001 "],
    K.case_number: ["s-2001"],
}
"""Differ from a stored value only by case or a trailing space: a case-insensitive collation
(MariaDB's default) calls them equal; the contract compares text exactly."""

KARI_ROWS = {
    ("customers", ("1",)),
    ("cases", ("10",)),
    ("cases", ("11",)),
    ("letters", ("100",)),
    ("letters", ("101",)),
    ("letters", ("102",)),
}
OLA_ROWS = {("customers", ("2",)), ("cases", ("12",)), ("letters", ("103",))}


@pytest.fixture
async def engine(engine_fixture: EngineFixture) -> EngineFixture:
    await engine_fixture.restore()
    return engine_fixture


@pytest.fixture
async def adapter(engine: EngineFixture) -> AsyncIterator[SourceSystem]:
    system = engine.adapter()
    yield system
    await system.close()


def plan_of(engine: EngineFixture) -> SystemPlan:
    return build_plans(engine.catalogue)[SYSTEM]


def rows_by_key() -> dict[str, dict[str, dict[str, Any]]]:
    return {table: {str(row["id"]): dict(row) for row in rows} for table, rows in ROWS.items()}


def source_row(plan: SystemPlan, table: str, key: int) -> SourceRow:
    """What a search returns for a fixture row (identifiers in the table plan's order)."""
    tp = plan.tables[table]
    row = rows_by_key()[table][str(key)]
    parent = None if tp.belongs_to is None else str(row[tp.belongs_to])
    values = [None if row[c.name] is None else str(row[c.name]) for c in tp.identifiers]
    return (table, [str(row[c]) for c in tp.primary_key], parent, values)


def ordered(rows: list[SourceRow]) -> list[SourceRow]:
    return sorted(rows, key=lambda r: (r[0], r[1]))


def keys_of(rows: list[SourceRow]) -> list[tuple[str, list[str]]]:
    return sorted((r[0], r[1]) for r in rows)


# ------------------------------------------------------------------------------------------ search

SINGLE_SEARCHES = [
    ({K.national_id: {KARI_ID}}, [("customers", 1)]),
    ({K.national_id: {OLA_ID}}, [("customers", 2)]),
    ({K.email: {"ola@example.no"}}, [("customers", 2)]),
    ({K.email: {"third@example.no"}}, [("customers", 3)]),
    ({K.phone: {"+4791234567"}}, [("customers", 1)]),
    ({K.case_number: {"S-2003"}}, [("cases", 12)]),
    ({K.case_number: {"S-2001", "S-2002"}}, [("cases", 10), ("cases", 11)]),
    ({K.customer_number: {"K-1003"}}, [("customers", 3)]),
    ({K.invoice_number: {"S-2001"}}, []),
    ({K.email: {"nobody@example.no"}}, []),
]


@pytest.mark.parametrize(
    ("values", "expected"), SINGLE_SEARCHES, ids=lambda v: "-" if isinstance(v, list) else None
)
async def test_search_by_identifier_finds_exactly_the_rows(
    engine: EngineFixture,
    adapter: SourceSystem,
    values: dict[IdentifierType, set[str]],
    expected: list[tuple[str, int]],
) -> None:
    plan = plan_of(engine)
    found = await adapter.search(values, {})
    assert ordered(found) == ordered([source_row(plan, table, key) for table, key in expected])


async def test_search_by_parent_keys_finds_the_children(engine: EngineFixture, adapter: SourceSystem) -> None:
    plan = plan_of(engine)
    cases = await adapter.search({}, {"customers": {"1"}})
    assert ordered(cases) == [source_row(plan, "cases", 10), source_row(plan, "cases", 11)]
    letters = await adapter.search({}, {"cases": {"10"}})
    assert ordered(letters) == [source_row(plan, "letters", 100), source_row(plan, "letters", 101)]
    both = await adapter.search({K.national_id: {OLA_ID}}, {"customers": {"2"}, "cases": {"10", "12"}})
    assert keys_of(both) == [
        ("cases", ["12"]),
        ("customers", ["2"]),
        ("letters", ["100"]),
        ("letters", ["101"]),
        ("letters", ["103"]),
    ]


@pytest.mark.parametrize(
    ("seed", "expected"), [(KARI_ID, KARI_ROWS), (OLA_ID, OLA_ROWS)], ids=["kari", "ola"]
)
async def test_a_subjects_whole_search_finds_the_same_rows(
    engine: EngineFixture, adapter: SourceSystem, seed: str, expected: set[tuple[str, tuple[str, ...]]]
) -> None:
    locator = Locator({SYSTEM: plan_of(engine)}, {SYSTEM: adapter})
    outcome = await locator.locate({K.national_id: seed})
    assert isinstance(outcome, Located), type(outcome).__name__
    assert {(f.row.table, f.row.key) for f in outcome.findings} == expected
    assert outcome.rounds == 3  # the person, then their cases, then the cases' letters


async def test_search_is_one_statement_per_round(engine: EngineFixture, adapter: SourceSystem) -> None:
    if engine.engine not in SQL_ENGINES:
        pytest.skip("round trips of an SQL engine")
    before = adapter.statements
    found = await adapter.search(
        {K.national_id: {KARI_ID, OLA_ID}, K.email: {"third@example.no"}, K.case_number: {"S-2003"}},
        {"customers": {"1"}, "cases": {"10"}},
    )
    assert adapter.statements - before == 1
    assert len(found) == 8  # customers 1, 2, 3; cases 10, 11 (customer 1's), 12; letters 100, 101
    if engine.engine == "sql":  # the sql engine asks nothing when nothing can match
        before = adapter.statements
        cannot_exist = {"a\x00b", "x" * 10_000, "\ud800"}
        assert await adapter.search({K.email: cannot_exist}, {"cases": {"x", "\uff11\uff12", "1.5"}}) == []
        assert await adapter.search({}, {}) == []
        assert adapter.statements == before


async def test_text_is_compared_exactly(engine: EngineFixture, adapter: SourceSystem) -> None:
    for kind, values in NOT_QUITE.items():
        assert await adapter.search({kind: set(values)}, {}) == [], kind.value
        assert await adapter.rescan({kind: set(values)}) == [], kind.value
    assert await adapter.lookup("customers", "customer_number", NOT_QUITE[K.customer_number]) == []
    assert await adapter.lookup("customers", "email", NOT_QUITE[K.email], ["id"]) == []
    assert await adapter.lookup("cases", "case_number", NOT_QUITE[K.case_number]) == []


# -------------------------------------------------------------------------------------------- read


def assert_python_types(table: str, row: Row) -> None:
    """Values of the catalogue's types: int keys, Decimal numerics, dates that are not datetimes,
    aware datetimes, real booleans."""
    expected = {"id": int, "customer_id": int, "case_id": int, "amount": Decimal, "restricted": bool}
    for column, value in row.items():
        if value is None or "." in column:
            continue
        if column in expected:
            assert type(value) is expected[column], (table, column, type(value).__name__)
        elif column in ("born_on", "closed_on", "sent_on"):
            assert type(value) is date, (table, column, type(value).__name__)
        elif column == "opened_at":
            assert isinstance(value, datetime) and value.tzinfo is not None, (table, column)
        else:
            assert type(value) is str, (table, column, type(value).__name__)


async def test_read_gives_back_the_rows_with_python_types(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    expected = rows_by_key()
    for table, rows in expected.items():
        read = await adapter.read(table, list(rows))
        # == compares datetimes as instants and Decimals by value (SQLite gives 1250.5000000000)
        assert read == rows, table
        for row in read.values():
            assert_python_types(table, row)
    assert await adapter.read("cases", ["10", "999", "12"]) == {
        "10": expected["cases"]["10"],
        "12": expected["cases"]["12"],
    }
    assert await adapter.read("letters", []) == {}


async def test_facts_follow_references(engine: EngineFixture, adapter: SourceSystem) -> None:
    facts = await adapter.facts("letters", ["100", "102", "103"], ["case_id.closed_on", "case_id.restricted"])
    assert set(facts) == {"100", "102", "103"}
    assert facts["102"]["case_id.closed_on"] == date(2021, 1, 31)
    assert facts["100"]["case_id.closed_on"] is None
    assert facts["103"]["case_id.restricted"] is False
    assert {k: v for k, v in facts["102"].items() if "." not in k} == rows_by_key()["letters"]["102"]
    for row in facts.values():
        assert_python_types("letters", row)
    # a path through a column that references nothing is left out (the retention engine treats it as holding)
    assert "sent_on.x" not in (await adapter.facts("letters", ["100"], ["sent_on.x"]))["100"]


async def test_lookup_by_a_text_column_and_by_a_key_column(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    expected = rows_by_key()
    assert await adapter.lookup(
        "customers", "email", ["ola@example.no", "nobody@example.no"], ["id", "name"]
    ) == [{"id": 2, "name": "Ola O'Brien"}]
    by_customer = await adapter.lookup("cases", "customer_id", ["1"])
    assert sorted(by_customer, key=lambda r: r["id"]) == [expected["cases"]["10"], expected["cases"]["11"]]
    assert await adapter.lookup("cases", "id", ["12"], ["case_number"]) == [{"case_number": "S-2003"}]
    assert await adapter.lookup("letters", "id", []) == []


# ------------------------------------------------------------------------------------------- apply

ERASURE = [
    RowChange("cases", "11", delete=True),
    RowChange("letters", "102", delete=True),
    RowChange("letters", "100", values={"body": None}),
    RowChange(
        "customers",
        "1",
        values={"name": "Pseudonym 7f3a", "email": "7f3a@pseudonym.invalid", "phone": "pseudonym-7f3a"},
    ),
    RowChange("customers", "2", restricted=True),
    RowChange("letters", "103", restricted=True),  # marks case 12, through case_id.restricted
]


def erased() -> dict[str, dict[str, dict[str, Any]]]:
    expected = copy.deepcopy(rows_by_key())
    del expected["cases"]["11"]
    del expected["letters"]["102"]
    expected["letters"]["100"]["body"] = None
    expected["customers"]["1"].update(
        name="Pseudonym 7f3a", email="7f3a@pseudonym.invalid", phone="pseudonym-7f3a"
    )
    expected["customers"]["2"]["restricted"] = True
    expected["cases"]["12"]["restricted"] = True
    return expected


def counts(applied: list[Applied]) -> list[int]:
    return [a.changed for a in applied]


async def test_apply_erases_and_restricts_and_a_second_run_changes_nothing(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    first = await adapter.apply(ERASURE)
    assert [a.change for a in first] == ERASURE
    assert counts(first) == [1, 1, 1, 1, 1, 1]
    assert all(a.before is None and not a.skipped for a in first)
    assert await engine.dump() == erased()
    again = await adapter.apply(ERASURE)
    assert counts(again) == [0] * len(ERASURE)
    assert await engine.dump() == erased()


async def test_none_empties_a_column_null_or_empty_text(engine: EngineFixture, adapter: SourceSystem) -> None:
    changes = [RowChange("customers", "3", values={"name": None, "email": None})]  # name is NOT NULL
    assert counts(await adapter.apply(changes)) == [1]
    dumped = await engine.dump()
    assert dumped["customers"]["3"]["name"] == ""
    assert dumped["customers"]["3"]["email"] is None
    assert counts(await adapter.apply(changes)) == [0]


async def test_read_before_gives_the_old_values_of_changed_columns(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    change = RowChange(
        "customers", "2", values={"email": "ola.nordmann@example.no", "name": "Ola O'Brien"}, read_before=True
    )
    [applied] = await adapter.apply([change])
    assert applied.changed == 1
    assert applied.before == {"email": "ola@example.no"}  # the name was already so
    [again] = await adapter.apply([change])
    assert (again.changed, again.before) == (0, {})
    [gone] = await adapter.apply([RowChange("customers", "999", values={"name": "x"}, read_before=True)])
    assert (gone.changed, gone.before, gone.skipped) == (0, None, False)


async def test_a_change_of_case_only_is_a_change(engine: EngineFixture, adapter: SourceSystem) -> None:
    change = RowChange("customers", "1", values={"email": "Kari@example.no", "name": "KARI NORDMANN"})
    assert counts(await adapter.apply([change])) == [1]
    dumped = await engine.dump()
    assert (dumped["customers"]["1"]["email"], dumped["customers"]["1"]["name"]) == (
        "Kari@example.no",
        "KARI NORDMANN",
    )
    assert counts(await adapter.apply([change])) == [0]


async def test_a_guard_that_refuses_leaves_the_row(engine: EngineFixture, adapter: SourceSystem) -> None:
    seen: list[tuple[str, str]] = []

    def refuse(change: RowChange, row: Row) -> bool:
        seen.append((change.key, str(row["id"])))
        return row.get("national_id") != OLA_ID and row.get("customer_id") != 2  # not Ola's rows

    changes = [
        RowChange("customers", "2", values={"name": "Pseudonym"}),
        RowChange("customers", "1", values={"name": "Pseudonym"}),
        RowChange("cases", "12", delete=True),
    ]
    refused, allowed, kept = await adapter.apply(changes, guard=refuse)
    assert (refused.changed, refused.skipped) == (0, True)
    assert refused.before is not None and refused.before["name"] == "Ola O'Brien"
    assert (allowed.changed, allowed.skipped, allowed.before) == (1, False, {"name": "Kari Nordmann"})
    assert (kept.changed, kept.skipped) == (0, True)
    assert seen == [("2", "2"), ("1", "1"), ("12", "12")]
    expected = rows_by_key()
    expected["customers"]["1"]["name"] = "Pseudonym"
    assert await engine.dump() == expected


async def test_rescan_after_erasure_finds_none_of_the_erased_values(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    erased_values = {K.email: {"kari@example.no"}, K.phone: {"+4791234567"}, K.case_number: {"S-2002"}}
    assert len(await adapter.rescan(erased_values)) == 2  # customer 1 (email, phone), case 11
    await adapter.apply(ERASURE)
    assert await adapter.rescan(erased_values) == []
    assert keys_of(await adapter.rescan({K.national_id: {KARI_ID}})) == [("customers", ["1"])]  # kept


async def test_replay_after_a_restore_changes_the_rows_once(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    assert counts(await adapter.apply(ERASURE)) == [1] * len(ERASURE)
    await engine.restore()  # a restore from backup brings the erased rows back
    assert await engine.dump() == rows_by_key()
    assert counts(await adapter.apply(ERASURE)) == [1] * len(ERASURE)
    assert await engine.dump() == erased()
    assert counts(await adapter.apply(ERASURE)) == [0] * len(ERASURE)


# ----------------------------------------------------------------------------------------- hostile


async def test_hostile_identifiers_find_nothing(engine: EngineFixture, adapter: SourceSystem) -> None:
    for index, value in enumerate(HOSTILE):
        label = f"hostile value #{index}"  # the value itself is never printed
        assert await adapter.search({kind: {value} for kind in K}, {}) == [], label
        assert await adapter.rescan({kind: {value} for kind in K}) == [], label
        assert await adapter.lookup("customers", "email", [value]) == [], label
        assert await adapter.lookup("cases", "case_number", [value], ["id"]) == [], label
    assert await engine.dump() == rows_by_key()


async def test_hostile_keys_find_nothing_and_change_nothing(
    engine: EngineFixture, adapter: SourceSystem
) -> None:
    for index, value in enumerate(HOSTILE):
        label = f"hostile value #{index}"
        assert await adapter.search({}, {"customers": {value}, "cases": {value}}) == [], label
        for table in ROWS:
            assert await adapter.read(table, [value]) == {}, label
            assert await adapter.facts(table, [value], ["case_id.closed_on"]) == {}, label
        assert await adapter.lookup("customers", "id", [value], ["id"]) == [], label
        assert await adapter.lookup("cases", "customer_id", [value]) == [], label
        changes = [
            RowChange("customers", value, values={"name": "Pseudonym"}, read_before=True),
            RowChange("customers", value, restricted=True),
            RowChange("cases", value, delete=True),
            RowChange("letters", value, restricted=True),
        ]
        assert counts(await adapter.apply(changes)) == [0, 0, 0, 0], label
    assert await engine.dump() == rows_by_key()


# ---------------------------------------------------------------------------------------- failures


async def test_a_stopped_server_is_unknown_never_empty_and_the_adapter_recovers(
    engine: EngineFixture,
) -> None:
    adapter = engine.adapter(limits=FAST)
    try:
        assert keys_of(await adapter.search({K.national_id: {KARI_ID}}, {})) == [("customers", ["1"])]
        await engine.stop_server()
        try:
            calls: dict[str, Callable[[], Awaitable[Any]]] = {
                "search": lambda: adapter.search({K.national_id: {KARI_ID}}, {"customers": {"1"}}),
                "rescan": lambda: adapter.rescan({K.email: {"kari@example.no"}}),
                "read": lambda: adapter.read("customers", ["1"]),
                "facts": lambda: adapter.facts("letters", ["100"], ["case_id.closed_on"]),
                "lookup": lambda: adapter.lookup("customers", "email", ["kari@example.no"]),
                "apply": lambda: adapter.apply([RowChange("customers", "1", values={"name": "Pseudonym"})]),
            }
            for operation, call in calls.items():
                started = time.monotonic()
                with pytest.raises(SystemUnknown) as raised:
                    await call()
                elapsed = time.monotonic() - started
                assert raised.value.system == SYSTEM, operation
                assert elapsed < FAST.attempts * FAST.timeout + 1.0, (operation, elapsed)
            health = await adapter.health()
            assert not health.ok and health.cause
        finally:
            await engine.start_server()
        # the same adapter answers again (its pool drops the dead connections)
        assert keys_of(await adapter.search({K.national_id: {KARI_ID}}, {})) == [("customers", ["1"])]
        assert set(await adapter.read("customers", ["1", "2"])) == {"1", "2"}
        assert counts(await adapter.apply([RowChange("customers", "3", restricted=True)])) == [1]
        assert (await adapter.health()).ok
    finally:
        await adapter.close()
    assert (await engine.dump())["customers"]["1"]["name"] == "Kari Nordmann"  # the failed apply did nothing


async def test_health_answers(adapter: SourceSystem) -> None:
    health = await adapter.health()
    assert health.ok and health.cause is None and health.seconds >= 0
