"""The `spouse_in_call_note` showcase: his wife is in the demo only as text inside his call note,
never as an identifier the locator could follow, and no random person shares her identifiers."""

from __future__ import annotations

from collections import defaultdict

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.demo.generator import DemoGenerator, showcase_placements
from services.demo.rows import Row, RowRef
from services.demo.showcase import CALL_NOTE_SPOUSE, reserved_national_ids, showcase_subject
from services.demo.tables import TableSpec

KEY = "spouse_in_call_note"


def _rows(subjects: int) -> dict[TableSpec, list[Row]]:
    rows: dict[TableSpec, list[Row]] = defaultdict(list)
    for chunk in DemoGenerator(seed=4, subjects=subjects, chunk_size=1_000).chunks():
        for table, table_rows in chunk.rows.items():
            rows[table].extend(table_rows)
    return rows


def test_his_call_note_names_his_own_and_his_wifes_phone_and_her_national_id() -> None:
    ragnar = showcase_subject(KEY)
    by_ref: dict[RowRef, dict[str, object]] = {}
    for table, table_rows in _rows(0).items():
        for row in table_rows:
            by_ref[RowRef(table.system, table.name, int(str(row[0])))] = dict(
                zip(table.columns, row, strict=True)
            )
    mine = {ref: by_ref[ref] for ref in showcase_placements()[KEY]}
    [call] = [row for ref, row in mine.items() if ref.table == "call_logs"]
    [case] = [row for ref, row in mine.items() if ref.table == "cases"]
    assert call["phone"] == ragnar.phone and call["case_number"] == case["case_number"]
    summary, number = str(call["summary"]), str(case["case_number"])
    assert "400 00 011" in summary and number in summary  # his own
    assert "400 00 012" in summary  # hers
    assert f"{CALL_NOTE_SPOUSE.national_id[:6]} {CALL_NOTE_SPOUSE.national_id[6:]}" in summary
    assert CALL_NOTE_SPOUSE.name not in summary  # a name alone would send his extract to a person


def test_the_wife_is_no_identifier_anywhere_and_no_random_person_shares_hers() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert CALL_NOTE_SPOUSE.national_id in reserved_national_ids()
    hers = {CALL_NOTE_SPOUSE.national_id, CALL_NOTE_SPOUSE.phone, CALL_NOTE_SPOUSE.email}
    for table, table_rows in _rows(3_000).items():
        columns = catalogue.systems[table.system].tables[table.name].columns
        identifying = [i for i, name in enumerate(table.columns) if columns[name].identifier is not None]
        for row in table_rows:
            assert not {row[i] for i in identifying} & hers, (table.name, row[0])
