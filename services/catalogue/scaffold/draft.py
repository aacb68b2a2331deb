"""A live schema and its column suggestions as the text of `systems/<system>.yaml`. Pure.

The draft is a catalogue file in every respect but one: it is not yet true. Every system, table
and column entry carries `review: suggested` and its evidence (counts, never a value); the fields
the scaffold cannot know (description, purpose, legal basis, recipients, sources, retention,
erasure) are present and empty, a text as `{nb: "", en: ""}` (both languages, both refused empty). `dsr catalogue check` refuses the file, naming each entry and
field, until a person has filled them in and deleted every `review` line.

`problems` lists what stops a draft from being written at all (names the catalogue cannot hold, a
table the role may not read): then nothing is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml

from services.catalogue.model import ColumnType, IdentifierType
from services.catalogue.scaffold.classify import ColumnFacts, Suggestion, classify
from services.catalogue.scaffold.introspect import LiveColumn, LiveTable, Reading
from services.catalogue.scaffold.names import Hint
from services.systems.drivers import DIALECT_DRIVERS

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
"""What the catalogue's table and column names may be."""

_RESTRICTION_NAMES = frozenset({"restricted", "is_restricted", "restriction", "sperret", "begrenset"})


@dataclass(frozen=True)
class ColumnDraft:
    name: str
    type: ColumnType | None
    suggestion: Suggestion
    references: str | None = None
    unique: bool = False
    field: str | None = None
    """An API record's field (`attendee.email`) when it is not the column's name."""


@dataclass(frozen=True)
class TableDraft:
    name: str
    primary_key: tuple[str, ...]
    columns: tuple[ColumnDraft, ...]
    belongs_to: str | None = None
    restriction: str | None = None
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class SystemDraft:
    name: str
    connection: dict[str, str]
    connection_note: str
    source: str
    """Where the draft was read from, for its header comment (`the database in $CRM_URL (mariadb)`)."""
    tables: tuple[TableDraft, ...]
    api: dict[str, Any] | None = None
    api_note: str = ""
    evidence: tuple[str, ...] = ()
    written_on: date = field(default_factory=date.today)

    @property
    def identifiers(self) -> dict[tuple[str, str], IdentifierType]:
        """(table, column) -> the suggested identifier type."""
        return {
            (table.name, column.name): column.suggestion.identifier
            for table in self.tables
            for column in table.columns
            if column.suggestion.identifier is not None
        }

    @property
    def entries(self) -> int:
        """Entries to review: the system, each table, each column."""
        return 1 + len(self.tables) + sum(len(table.columns) for table in self.tables)


# -------------------------------------------------------------------------------------- database


def problems(reading: Reading) -> list[str]:
    """What stops the draft from being written: every problem, each naming its table or column."""
    found: list[str] = []
    for table in reading.schema.tables:
        if not NAME.match(table.name):
            found.append(
                f"table {table.name!r}: the catalogue's names are lower case letters, digits and '_' "
                f"(at most 63, starting with a letter); rename it, or leave it out with --exclude {table.name!r}"
            )
            continue
        for column in table.columns:
            if not NAME.match(column.name):
                found.append(
                    f"column {table.name}.{column.name!r}: the catalogue's names are lower case letters, "
                    "digits and '_' (at most 63, starting with a letter); rename it, or leave it out "
                    f"with --exclude {f'{table.name}.{column.name}'!r}"
                )
        if not table.columns:
            found.append(f"table {table.name!r}: no columns to describe (or none the role may see)")
    for unreadable in reading.unreadable:
        where = f"{unreadable.table}.{unreadable.column}" if unreadable.column else unreadable.table
        remedy = (
            "raise --timeout" if unreadable.reason.startswith("timed out") else "grant the role SELECT on it"
        )
        found.append(
            f"{'column' if unreadable.column else 'table'} {where!r}: cannot sample its values "
            f"({unreadable.reason}); {remedy}, or leave it out with --exclude {where!r}"
        )
    return found


def draft_database(system: str, reading: Reading, url_env: str) -> SystemDraft:
    """The draft of a database system read by `read_database` (call `problems` first)."""
    live = reading.schema
    names = {table.name for table in live.tables}
    tables = tuple(_table(table, reading, names) for table in live.tables)
    dialect = live.dialect
    scheme = DIALECT_DRIVERS[dialect].url_scheme if dialect in DIALECT_DRIVERS else dialect
    schema = f", schema {live.schema}" if live.schema else ""
    note = f"at run time {url_env} holds the URL with the asyncio driver: {scheme}://..."
    if live.schema:
        note += f"; the engine reads the connection's default schema: make it {live.schema}"
    return SystemDraft(
        name=system,
        connection={"engine": "sql", "dialect": dialect, "env": url_env},
        connection_note=note,
        source=f"the database in ${url_env} ({dialect}{schema})",
        tables=tables,
        evidence=(
            f"{plural(len(tables), 'table')} and {plural(sum(len(t.columns) for t in tables), 'column')} "
            "read from the schema",
            f"{plural(sum(len(sample) for sample in reading.samples.values()), 'value')} sampled in "
            f"{plural(reading.statements, 'read-only statement')}; none of them is written here",
        ),
    )


def column_facts(table: LiveTable, column: LiveColumn, tables: Collection[str]) -> ColumnFacts:
    """What the schema says of a column, as the classifier takes it: a single-column foreign key to
    a table of the same schema among `tables` is a reference; a single-column unique constraint or
    index makes it unique. The draft and the drift check both judge columns on these facts."""
    references = next(
        (
            f"{fk.table}.{fk.referred[0]}"
            for fk in table.foreign_keys
            if fk.columns == (column.name,) and fk.schema is None and fk.table in tables
        ),
        None,
    )
    return ColumnFacts(
        table=table.name,
        name=column.name,
        type=column.type,
        db_type=column.db_type,
        primary_key=column.name in table.primary_key,
        references=references,
        unique=(column.name,) in table.unique,
    )


def _table(table: LiveTable, reading: Reading, names: set[str]) -> TableDraft:
    references: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for fk in table.foreign_keys:
        if len(fk.columns) != 1:
            for part in fk.columns:
                notes.setdefault(part, []).append(
                    f"part of a foreign key of {len(fk.columns)} columns to {fk.table}: "
                    "the catalogue references one column"
                )
        elif fk.schema is not None or fk.table not in names:
            notes.setdefault(fk.columns[0], []).append(
                f"a foreign key to {fk.schema + '.' if fk.schema else ''}{fk.table}, outside this draft"
            )
        else:
            references[fk.columns[0]] = f"{fk.table}.{fk.referred[0]}"
            notes.setdefault(fk.columns[0], []).append(f"a foreign key to {fk.table}.{fk.referred[0]}")
    unique = {columns[0] for columns in table.unique if len(columns) == 1}
    drafted: list[ColumnDraft] = []
    for column in table.columns:
        facts = column_facts(table, column, names)
        extra = list(notes.get(column.name, []))
        if column.name in table.primary_key:
            extra.append("the primary key" if len(table.primary_key) == 1 else "part of the primary key")
        if column.name in unique:
            extra.append("unique in the schema")
        sample = reading.samples.get((table.name, column.name))
        if column.text_like and sample is None:
            extra.append("not sampled")
        suggestion = classify(facts, sample.values if sample is not None else None, notes=extra)
        drafted.append(
            ColumnDraft(
                column.name,
                column.type,
                suggestion,
                references=references.get(column.name),
                unique=column.name in unique,
            )
        )
    return finish_table(table.name, table.primary_key, drafted, (len(table.foreign_keys), len(unique)))


def finish_table(
    name: str,
    primary_key: Sequence[str],
    columns: list[ColumnDraft],
    keys: tuple[int, int] | None = None,
) -> TableDraft:
    """The table-level suggestions: `belongs_to` for a table found only through its one reference,
    the restriction marker when a boolean column is named for it. `keys`: the schema's foreign
    keys and unique columns (None: no schema says, an API)."""
    evidence = [
        f"primary key ({', '.join(primary_key)})" if primary_key else "no primary key found: name one"
    ]
    if keys is not None:
        evidence.append(f"{keys[0]} foreign key(s) and {keys[1]} unique column(s) in the schema")
    belongs_to = None
    refs = [c.name for c in columns if c.references]
    has_identifier = any(c.suggestion.identifier for c in columns)
    personal = any(c.suggestion.personal or not c.suggestion.categories for c in columns)
    if not has_identifier and len(refs) == 1 and personal:
        belongs_to = refs[0]
        evidence.append(f"belongs_to {belongs_to}: no identifier column, and its one reference")
    restriction = next(
        (
            c.name
            for c in columns
            if c.type is ColumnType.boolean
            and c.name in _RESTRICTION_NAMES
            and Hint.processing in c.suggestion.evidence.name
        ),
        None,
    )
    if restriction:
        evidence.append(f"restriction {restriction}: a boolean column named for it")
    return TableDraft(name, tuple(primary_key), tuple(columns), belongs_to, restriction, tuple(evidence))


# ------------------------------------------------------------------------------------------ YAML


def render(draft: SystemDraft) -> str:
    """The draft's text: `systems/<system>.yaml`."""
    lines = [
        f"# A draft of the {draft.name} system, written by `dsr catalogue scaffold` on "
        f"{draft.written_on.isoformat()} from",
        f"# {_comment(draft.source)}. It holds no sampled value: the evidence is counts.",
        "# Every entry marked `review: suggested` is a machine's guess: check it against the system,",
        "# correct it, fill in what is empty, then delete the `review` line. `dsr catalogue check` (and",
        "# every service loading the catalogue) refuses this file while anything is left to review.",
        "# Texts are written in both languages, bokmål (nb) and English (en), as the subject is told them.",
        'title: {nb: "", en: ""}                 # the system as people call it',
        'description: {nb: "", en: ""}           # what it is for, whose data it holds',
        "review: suggested",
        f"evidence: {_list(draft.evidence)}",
        "connection:",
    ]
    for key, value in draft.connection.items():
        note = f"   # {_comment(draft.connection_note)}" if key == "env" and draft.connection_note else ""
        lines.append(f"  {key}: {_scalar(value)}{note}")
    lines += [
        "role:",
        "  kind: controller           # or processor, with controller: {table, column, description: {nb, en}}",
    ]
    if draft.api is not None:
        if draft.api_note:
            lines += [f"# {_comment(line)}" for line in draft.api_note.splitlines()]
        dumped = yaml.dump(
            {"api": draft.api}, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100
        )
        lines += dumped.rstrip("\n").splitlines()
    lines.append("tables:")
    for table in draft.tables:
        lines += _table_lines(table)
    return "\n".join(lines) + "\n"


_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


def _comment(text: str) -> str:
    """Text for a YAML comment: a line break in a schema's name or an API's title would end the
    comment and write YAML of its own."""
    return _BREAKS.sub(" ", text)


class _NoAliases(yaml.SafeDumper):
    """Writes a repeated value again instead of an anchor and alias (`&id001`): people edit this."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _table_lines(table: TableDraft) -> list[str]:
    lines = [
        f"  {_key(table.name)}:",
        "    review: suggested",
        f"    evidence: {_list(table.evidence)}",
        '    description: {nb: "", en: ""}   # what the table holds, as an extract says it',
        '    purpose: {nb: "", en: ""}       # why its data is processed (Art. 15(1)(a))',
        "    legal_basis: []          # 6(1)(a)-(f); a 9(2)(a)-(j) basis for a special category",
        "    recipients: []           # parties.yaml ids told of corrections and erasures (Art. 19)",
        "    sources: []              # parties.yaml ids the data came from (Art. 14(2)(f))",
        "    retention:               # {kind: after_date|on_event|follows|purpose|controller, description: {nb, en}}",
        "    erasure:                 # {strategy: delete_row|null_columns|anonymise|keep|refer_to_controller}",
    ]
    if table.restriction:
        lines.append(f"    restriction: {{column: {_key(table.restriction)}}}")
    else:
        lines.append(
            "    restriction:             # {column: a boolean column that marks the row restricted}"
        )
    lines.append(f"    primary_key: {_list(table.primary_key, quote=False)}")
    if table.belongs_to:
        lines.append(f"    belongs_to: {_key(table.belongs_to)}")
    lines.append("    columns:")
    for column in table.columns:
        lines += _column_lines(column)
    return lines


def _column_lines(column: ColumnDraft) -> list[str]:
    suggestion = column.suggestion
    lines = [
        f"      {_key(column.name)}:",
        f"        type: {(column.type or ColumnType.text).value}",
        f"        categories: {_list(suggestion.categories, quote=False)}"
        + ("" if suggestion.categories else "   # nothing says what it holds: choose from taxonomy.yaml"),
    ]
    if suggestion.identifier is not None:
        lines.append(f"        identifier: {suggestion.identifier.value}")
    if column.field:
        lines.append(f"        # the API's field: {column.field}")
    if column.references:
        lines.append(f"        references: {column.references}")
    if column.unique:
        lines.append("        unique: true")
    if suggestion.free_text:
        lines.append("        free_text: true")
    lines += [
        "        review: suggested",
        f"        evidence: {_list(suggestion.evidence.sentences())}",
    ]
    return lines


def _scalar(text: str) -> str:
    """A YAML scalar for `text`: as is when YAML reads it back as that string, else double-quoted."""
    try:
        if (
            text
            and yaml.safe_load(text) == text
            and text.strip() == text
            and "#" not in text
            and ":" not in text
        ):
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text, ensure_ascii=False)


_key = _scalar
"""A mapping key: `on`, `no`, `null`, `true` (valid catalogue names) would read back as other
types unquoted."""


def _list(items: Sequence[str], *, quote: bool = True) -> str:
    return "[" + ", ".join(json.dumps(i, ensure_ascii=False) if quote else _scalar(i) for i in items) + "]"


def column_summary(draft: SystemDraft) -> list[str]:
    """What the command prints, table by table: each identifier, free-text and other personal
    column with its evidence, then the columns nothing was suggested for (counts only)."""
    lines: list[str] = []
    for table in draft.tables:
        unknown: list[str] = []
        for column in table.columns:
            s = column.suggestion
            if not s.categories:
                unknown.append(column.name)
                continue
            if s.identifier is None and not s.personal:
                continue
            what = (
                s.identifier.value
                if s.identifier
                else ("free text" if s.free_text else ", ".join(s.categories))
            )
            lines.append(f"  {table.name}.{column.name}: {what} ({'; '.join(s.evidence.sentences())})")
        if unknown:
            lines.append(f"  {table.name}: no categories suggested for {', '.join(unknown)}")
    return lines


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
