"""Reads a catalogue directory and reports every problem in it, each as `file:path: message`.

Layout: `taxonomy.yaml` (data categories), `parties.yaml` (recipients and sources) and one
`systems/<system>.yaml` per system. Adding a PostgreSQL system is adding a file there.

Each table, column and field is validated on its own, so a malformed field does not hide the
cross-reference problems elsewhere: the checker runs on everything that validated, and a cross
problem at or around a field that is itself malformed is left out (fix that one first).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from services.catalogue.checker import Context, check
from services.catalogue.http_api import HttpApi
from services.catalogue.model import (
    Catalogue,
    Column,
    ColumnType,
    Connection,
    Parties,
    Role,
    System,
    SystemHeader,
    Table,
    Taxonomy,
)
from services.catalogue.problems import Path as FieldPath
from services.catalogue.problems import format_path
from services.catalogue.secrecy import find_secrets
from services.catalogue.text import LANGUAGE_NAMES, Text

M = TypeVar("M", bound=BaseModel)

TAXONOMY_FILE = "taxonomy.yaml"
PARTIES_FILE = "parties.yaml"
SYSTEMS_DIR = "systems"
DEFAULT_CATALOGUE = Path(__file__).resolve().parents[2] / "catalogue"
"""The catalogue shipped with the source tree (it describes the demo systems)."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class CatalogueError(Exception):
    """The catalogue is invalid; `problems` lists each as `file:path: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Report:
    """Problems found so far, formatted with the file they are in; remembers where fields are malformed."""

    def __init__(self) -> None:
        self._problems: list[tuple[Path, str]] = []
        self.malformed: dict[Path, list[FieldPath]] = {}

    @property
    def problems(self) -> list[str]:
        """Grouped by file, in the order found."""
        return [text for _, text in sorted(self._problems, key=lambda problem: str(problem[0]))]

    def add(self, file: Path, path: FieldPath, message: str) -> None:
        self._problems.append((file, f"{file}:{format_path(path)}: {message}"))

    def add_raw(self, file: Path, text: str) -> None:
        self._problems.append((file, text))

    def validate(self, file: Path, model: type[M], data: object, prefix: FieldPath = ()) -> M | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                path = (*prefix, *error["loc"])
                self.malformed.setdefault(file, []).append(path)
                self.add(file, path, _message(error))
            return None

    def near_malformed(self, file: Path, path: FieldPath) -> bool:
        """`path` is a malformed field, inside one, or holds one."""
        return any(
            bad[: len(path)] == path or path[: len(bad)] == bad for bad in self.malformed.get(file, ())
        )


def _message(error: Any) -> str:
    """pydantic's message, said plainly where a required field is empty (a scaffold's draft leaves
    what it cannot know empty: the problem names the field and that it is empty; for a text, the
    language, which is also the path's last part)."""
    minimum = (error.get("ctx") or {}).get("min_length")
    if error["type"] == "string_too_short" and minimum == 1:
        language = error["loc"][-1] if error["loc"] else None
        if language == "nb" or language == "en":
            return f"is empty: write the {LANGUAGE_NAMES[language]} text"
        return "is empty: fill it in"
    if error["type"] == "too_short" and minimum == 1:
        return "is empty: name at least one"
    return str(error["msg"]).removeprefix("Value error, ")


def load_catalogue(path: Path | str) -> Catalogue:
    """The validated catalogue under `path`; raises `CatalogueError` listing every problem."""
    root = Path(path)
    report = _Report()
    taxonomy_file, parties_file = root / TAXONOMY_FILE, root / PARTIES_FILE
    taxonomy = _load_file(taxonomy_file, Taxonomy, report)
    parties = _load_file(parties_file, Parties, report)
    files: dict[str, Path] = {}
    systems: dict[str, System] = {}
    broken_tables: dict[str, frozenset[str]] = {}
    broken_systems: set[str] = set()
    system_files = sorted((root / SYSTEMS_DIR).glob("*.yaml")) if (root / SYSTEMS_DIR).is_dir() else []
    if not system_files:
        report.add_raw(root / SYSTEMS_DIR, f"{root / SYSTEMS_DIR}: no system files (systems/<system>.yaml)")
    for file in system_files:
        if not _NAME.match(file.stem):
            report.add(file, (), "the file name is the system's name: lower case letters, digits and '_'")
            continue
        files[file.stem] = file
        loaded = _load_system(file, report)
        if loaded is None:
            broken_systems.add(file.stem)
        else:
            systems[file.stem], broken_tables[file.stem] = loaded
    context = Context(
        systems,
        taxonomy.flatten() if taxonomy else None,
        parties,
        broken_tables,
        frozenset(broken_systems),
    )
    for problem in check(context):
        if not report.near_malformed(files[problem.source], problem.path):
            report.add(files[problem.source], problem.path, problem.message)
    if report.problems or taxonomy is None or parties is None:
        raise CatalogueError(report.problems)
    return Catalogue(taxonomy=taxonomy, parties=parties, systems=systems)


def _load_file(file: Path, model: type[M], report: _Report) -> M | None:
    document = _read(file, report)
    return None if document is None else report.validate(file, model, document)


def _read(file: Path, report: _Report) -> object:
    """The YAML document in `file` with its secrets reported, or None (problem reported)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        report.add(file, (), f"cannot read: {exc.strerror or exc}")
        return None
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<document>"
        report.add_raw(file, f"{file}:{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    if document is None:
        report.add(file, (), "the file is empty")
    for path, message in find_secrets(document):
        report.add(file, path, message)
    return document


def _load_system(file: Path, report: _Report) -> tuple[System, frozenset[str]] | None:
    """The system with the tables that validated, and the names of those that did not; None when
    the file cannot be read at all. Invalid header fields are stood in for, so that the tables
    are still checked (their own errors are already reported)."""
    document = _read(file, report)
    if document is None:
        return None
    if not isinstance(document, dict):
        report.add(file, (), "a system file is a mapping (title, description, connection, role, tables)")
        return None
    header_data = {key: value for key, value in document.items() if key != "tables"}
    header = report.validate(file, SystemHeader, header_data)
    tables: dict[str, Table] = {}
    broken: set[str] = set()
    raw_tables = document.get("tables")
    if not isinstance(raw_tables, dict) or not raw_tables:
        report.add(file, ("tables",), "a system has a mapping of one or more tables")
        raw_tables = {}
    for name, raw in raw_tables.items():
        if not isinstance(name, str) or not _NAME.match(name):
            report.add(file, ("tables", str(name)), "a table name is lower case letters, digits and '_'")
            continue
        table = report.validate(file, Table, raw, ("tables", name))
        if table is None and isinstance(raw, dict):
            table = _partial_table(raw)
        if table is None:
            broken.add(name)
        else:
            tables[name] = table
    if header is None:
        header = _stand_in_header(header_data)
    system = System.model_construct(**dict(header), tables=tables)
    return system, frozenset(broken)


_NO_TEXT = Text.model_construct(nb="", en="")
"""A stand-in for a text that did not validate (its problem is reported; never shown)."""


def _stand_in_header(data: dict[str, Any]) -> SystemHeader:
    """What validated of an invalid header, with neutral stand-ins for the rest (never returned)."""
    role = _quietly(Role, data.get("role"))
    if role is None:
        raw_role = data.get("role")
        kind = raw_role.get("kind") if isinstance(raw_role, dict) else None
        role = Role.model_construct(kind=kind if kind in ("controller", "processor") else "controller")
    connection = _quietly(Connection, data.get("connection")) or Connection.model_construct(
        database=None, env=None
    )
    api = _quietly(HttpApi, data.get("api"))
    review: Literal["suggested"] | None = "suggested" if data.get("review") == "suggested" else None
    return SystemHeader.model_construct(
        title=_NO_TEXT, description=_NO_TEXT, connection=connection, role=role, api=api, review=review
    )


def _partial_table(raw: dict[str, Any]) -> Table:
    """The fields of a malformed table that are valid on their own, columns likewise (never returned)."""
    fields = _valid_fields(Table, raw, skip={"columns"})
    fields.setdefault("description", "")
    fields.setdefault("primary_key", [])
    columns: dict[str, Column] = {}
    raw_columns = raw.get("columns")
    for name, column in raw_columns.items() if isinstance(raw_columns, dict) else ():
        if isinstance(name, str) and _NAME.match(name):
            columns[name] = _quietly(Column, column) or _partial_column(column)
    return Table.model_construct(columns=columns, **fields)


def _partial_column(raw: object) -> Column:
    fields = _valid_fields(Column, raw if isinstance(raw, dict) else {}, skip=set())
    fields.setdefault("type", ColumnType.text)
    fields.setdefault("categories", [])
    return Column.model_construct(**fields)


def _valid_fields(model: type[BaseModel], raw: dict[str, Any], *, skip: set[str]) -> dict[str, Any]:
    """Each field of `raw` that validates on its own, validated."""
    probe = model.model_construct()
    valid: dict[str, Any] = {}
    for name in model.model_fields:
        if name in raw and name not in skip:
            try:
                model.__pydantic_validator__.validate_assignment(probe, name, raw[name])
            except ValidationError:
                continue
            valid[name] = getattr(probe, name)
    return valid


def _quietly(model: type[M], data: object) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
