"""The data catalogue's shape: what a file may say, validated field by field on load.

Checks that need more than one field of one model (a primary key naming a column that exists,
a category that exists in the taxonomy) live in `checker.py`, so that every problem is reported at
once with its own path instead of the first one per model.

Every text a subject or an agent reads (titles, descriptions, purposes, retention rules, reasons,
category and party names) is a `Text` in bokmål and English (`text.py`): a consumer asks for the
request's language with `in_`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from services.catalogue.http_api import HttpApi, api_problems
from services.catalogue.problems import format_path
from services.catalogue.text import Text

Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63)]
"""A PostgreSQL identifier as we write them: lower case, no quoting needed."""

ColumnPath = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
"""A column of this table, or `reference_column.column` to follow a reference to another table."""

TableRef = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")]
"""`table.column` inside one system, or `system.table` across systems (where the field says so)."""

LegalBasis = Annotated[str, StringConstraints(pattern=r"^(6\(1\)\([a-f]\)|9\(2\)\([a-j]\))$")]
"""A GDPR article: `6(1)(a)`..`6(1)(f)`, or `9(2)(a)`..`9(2)(j)` for special categories."""

Exemption = Annotated[str, StringConstraints(pattern=r"^17\(3\)\([a-e]\)$")]
"""An Art. 17(3) exemption from erasure, e.g. `17(3)(b)` (a legal obligation)."""

Period = Annotated[str, StringConstraints(pattern=r"^P(\d+Y(\d+M)?(\d+D)?|\d+M(\d+D)?|\d+D)$")]
"""An ISO 8601 period in years, months and days: `P3Y`, `P6M`, `P1Y6M`, `P30D`."""

_PERIOD = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?$")


def period_parts(period: str) -> tuple[int, int, int]:
    """(years, months, days) of a validated period."""
    match = _PERIOD.match(period)
    assert match is not None, period
    years, months, days = (int(part) if part else 0 for part in match.groups())
    return years, months, days


Review = Literal["suggested"]
"""`suggested`: a machine's draft (`dsr catalogue scaffold`) nobody has checked yet. The checker
refuses it, so a draft is never used by accident; a person confirms the entry by deleting the line."""

Evidence = Annotated[list[str], Field(description="What the scaffold saw (counts only, never a value).")]
"""Sentences such as "31 of 50 sampled values are valid national ids": documentation, never read."""


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not silently drop a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentifierType(StrEnum):
    """Identifiers a subject can be found by (BRIEF §6)."""

    national_id = "national_id"
    email = "email"
    phone = "phone"
    case_number = "case_number"
    customer_number = "customer_number"
    invoice_number = "invoice_number"


class ColumnType(StrEnum):
    """The PostgreSQL types the catalogue knows; values are `information_schema` data types."""

    bigint = "bigint"
    integer = "integer"
    numeric = "numeric"
    text = "text"
    boolean = "boolean"
    date = "date"
    timestamptz = "timestamptz"

    @property
    def sql_name(self) -> str:
        return "timestamp with time zone" if self is ColumnType.timestamptz else self.value


# ----------------------------------------------------------------------------------------- taxonomy


class Category(Strict):
    """A node of the data-category taxonomy; `special` marks an Art. 9 category (inherited)."""

    description: Text
    special: bool = False
    personal: bool | None = Field(None, description="Personal data (inherited from the parent when unset).")
    children: dict[Name, Category] = {}


class FlatCategory(Strict):
    """A category by its dotted name, with what it inherits from its ancestors."""

    name: str
    description: Text
    special: bool
    personal: bool


class Taxonomy(Strict):
    categories: dict[Name, Category] = Field(min_length=1)

    def flatten(self) -> dict[str, FlatCategory]:
        """Every node by dotted name (`user.contact.email`)."""
        flat: dict[str, FlatCategory] = {}

        def walk(prefix: str, nodes: dict[str, Category], special: bool, personal: bool) -> None:
            for key, node in nodes.items():
                name = f"{prefix}{key}"
                node_special = special or node.special
                node_personal = personal if node.personal is None else node.personal
                flat[name] = FlatCategory(
                    name=name, description=node.description, special=node_special, personal=node_personal
                )
                walk(f"{name}.", node.children, node_special, node_personal)

        walk("", self.categories, False, False)
        return flat


# ------------------------------------------------------------------------------------------ parties


class RecipientKind(StrEnum):
    client = "client"
    processor = "processor"
    authority = "authority"
    partner = "partner"


class Recipient(Strict):
    """Someone data is disclosed to: named in extracts, told of corrections and erasures (Art. 19)."""

    name: Text
    kind: RecipientKind


class Source(Strict):
    """Where data came from when not from the subject (Art. 14(2)(f)), named in extracts."""

    name: Text


class Parties(Strict):
    recipients: dict[Name, Recipient] = {}
    sources: dict[Name, Source] = Field(min_length=1)


# ------------------------------------------------------------------------------------------ systems


SqlDialect = Literal["mysql", "mariadb", "sqlite", "mssql", "oracle", "postgresql"]
"""SQLAlchemy dialects the `sql` engine is tested or compiled against (README: "Source systems")."""


class Connection(Strict):
    """Where the system is and how to reach it, by reference only: the file never holds a secret
    (the loader also scans every file for credentials, see `secrecy.py`).

    - `postgresql`: `database` on the pipeline's own server, or `env`/`secret_file` naming a DSN.
    - `sql`: any SQLAlchemy dialect (`dialect`); `env`/`secret_file` naming an SQLAlchemy URL
      (`mysql+asyncmy://...`, `mssql+aioodbc://...`, `oracle+oracledb://...`), or for `sqlite`
      `database`, a file in the pipeline's own source directory (`DSR_SOURCE_FILES_DIR`).
    - `http`: a JSON API described under the system's `api` (its base URL by `env` or `base_url`).
    - `manual`: a system without an interface; agents search and change it (tasks).
    """

    engine: Literal["postgresql", "sql", "http", "manual"] = Field(
        "postgresql", description="`manual`: a system without an interface; an agent searches it (a task)."
    )
    dialect: SqlDialect | None = Field(None, description="The `sql` engine's SQLAlchemy dialect.")
    database: str | None = Field(
        None,
        description="A database on the pipeline's own PostgreSQL server (DSR_DATABASE_URL's), or for "
        "`sql` with `dialect: sqlite` a file in DSR_SOURCE_FILES_DIR.",
    )
    env: str | None = Field(None, description="The environment variable that holds the DSN or URL.")
    secret_file: str | None = Field(
        None, description="A file holding the DSN or URL (a mounted secret), e.g. /run/secrets/crm_url."
    )
    base_url: str | None = Field(
        None, description="`http`: the API's base URL when it is no secret (else `env` holds it)."
    )

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", value):
            raise ValueError("a database name is lower case letters, digits and '_'")
        return value

    @field_validator("env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", value):
            raise ValueError("an environment variable name is upper case letters, digits and '_'")
        return value

    @field_validator("secret_file")
    @classmethod
    def _secret_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("a secret file is an absolute path")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^\s@]+", value):
            raise ValueError("a base URL is http(s)://host[:port][/path], without credentials")
        return value

    @property
    def references(self) -> list[str]:
        """The fields that say where the system is (exactly one is allowed)."""
        return [name for name in ("database", "env", "secret_file", "base_url") if getattr(self, name)]

    @model_validator(mode="after")
    def _exactly_one(self) -> Connection:
        given = self.references
        if self.engine == "manual":
            if given:
                raise ValueError(f"a manual system has no {', '.join(given)}")
            return self
        if len(given) != 1:
            raise ValueError("name exactly one of `database`, `env`, `secret_file` (or `base_url` for http)")
        if self.engine == "sql" and self.dialect is None:
            raise ValueError("an `sql` system names its `dialect` (mysql, mariadb, sqlite, mssql, oracle)")
        if self.engine != "sql" and self.dialect is not None:
            raise ValueError("only an `sql` system names a `dialect`")
        if self.base_url is not None and self.engine != "http":
            raise ValueError("only an `http` system has a `base_url`")
        if self.database is not None and self.engine not in ("postgresql", "sql"):
            raise ValueError("`database` names a PostgreSQL database or an SQLite file")
        if self.engine == "sql" and self.database is not None and self.dialect != "sqlite":
            raise ValueError("`database` on an `sql` system is an SQLite file (dialect: sqlite)")
        return self


class ControllerRule(Strict):
    """How to find the controller of a processor's row: the column naming it (e.g. the client)."""

    table: Name
    column: Name
    description: Text


class Role(Strict):
    kind: Literal["controller", "processor"]
    controller: ControllerRule | None = None

    @model_validator(mode="after")
    def _controller_rule(self) -> Role:
        if self.kind == "processor" and self.controller is None:
            raise ValueError("a processor system must name the rule that finds its controller (controller)")
        if self.kind == "controller" and self.controller is not None:
            raise ValueError("only a processor system names a controller rule")
        return self


class Column(Strict):
    type: ColumnType
    categories: list[str] = Field(min_length=1)
    identifier: IdentifierType | None = None
    references: TableRef | None = Field(None, description="`table.column` in the same system.")
    unique: bool = Field(
        False,
        description="No two rows share a value: an identifier here names one row, and so its subject "
        "(a case number names the case and its debtor; the same number elsewhere only mentions the case).",
    )
    rectifiable: bool = False
    kept_as_is: Text | None = Field(
        None,
        description="Why this column is not corrected on a rectification (a historical record kept as "
        "it was written): told to the subject when it still holds a value they had corrected.",
    )
    free_text: bool = Field(
        False,
        description="What people write in their own words (call notes, letters, case notes, messages): "
        "it can name other people, so an extract scans it and withholds their identifiers (Art. 15(4)).",
    )
    description: Text | None = None
    review: Review | None = None
    evidence: Evidence = []

    @model_validator(mode="after")
    def _kept_as_is_or_rectifiable(self) -> Column:
        if self.kept_as_is is not None and self.rectifiable:
            raise ValueError("a column is `rectifiable` or `kept_as_is` (with the reason), not both")
        return self

    @model_validator(mode="after")
    def _free_text_is_prose(self) -> Column:
        if self.free_text and self.type is not ColumnType.text:
            raise ValueError(f"`free_text` marks a text column; this one is {self.type.value!r}")
        if self.free_text and self.identifier is not None:
            raise ValueError("a `free_text` column is prose, not an identifier: drop one of the two")
        return self


class RetentionKind(StrEnum):
    after_date = "after_date"
    """Erase `period` after the date in `anchor` (e.g. 3 years after the case closed)."""
    on_event = "on_event"
    """Erase at once when `anchor` is set (e.g. the unsubscribe time)."""
    follows = "follows"
    """Kept as long as the linked row in another system (`follows`, matched by the `link` identifier)."""
    purpose = "purpose"
    """Kept while the purpose lasts; no fixed period (`description` says what ends it)."""
    controller = "controller"
    """A processor's data: the controller decides."""


class Retention(Strict):
    kind: RetentionKind
    description: Text = Field(description="What an extract says about how long it is kept.")
    period: Period | None = None
    anchor: ColumnPath | None = None
    follows: TableRef | None = Field(None, description="`system.table` this row's retention follows.")
    link: IdentifierType | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Retention:
        required = {
            RetentionKind.after_date: {"period", "anchor"},
            RetentionKind.on_event: {"anchor"},
            RetentionKind.follows: {"follows", "link"},
            RetentionKind.purpose: set(),
            RetentionKind.controller: set(),
        }[self.kind]
        given = {name for name in ("period", "anchor", "follows", "link") if getattr(self, name) is not None}
        if missing := sorted(required - given):
            raise ValueError(f"retention kind {self.kind.value!r} needs {', '.join(missing)}")
        if extra := sorted(given - required):
            raise ValueError(f"retention kind {self.kind.value!r} takes no {', '.join(extra)}")
        return self


class ErasureStrategy(StrEnum):
    delete_row = "delete_row"
    null_columns = "null_columns"
    anonymise = "anonymise"
    """Replace `columns` with a keyed hash: rows stay countable, the person is gone."""
    keep = "keep"
    refer_to_controller = "refer_to_controller"
    """A processor's data: the request goes to the controller."""


class Hold(Strict):
    """A condition under which the row may not be erased yet (restrict it instead)."""

    column: ColumnPath
    equals: str | bool | None = None
    present: bool | None = Field(
        None, description="true: held while the column has a value; false: while empty."
    )
    exemptions: list[Exemption] = []
    reason: Text

    @model_validator(mode="after")
    def _one_condition(self) -> Hold:
        if (self.equals is None) == (self.present is None):
            raise ValueError("a hold gives exactly one of `equals` or `present`")
        return self


class Erasure(Strict):
    strategy: ErasureStrategy
    columns: list[Name] = []
    holds: list[Hold] = []
    exemptions: list[Exemption] = []
    reason: Text | None = None

    @model_validator(mode="after")
    def _fields_for_strategy(self) -> Erasure:
        takes_columns = self.strategy in (ErasureStrategy.null_columns, ErasureStrategy.anonymise)
        if takes_columns and not self.columns:
            raise ValueError(f"strategy {self.strategy.value!r} needs the columns it changes")
        if not takes_columns and self.columns:
            raise ValueError(f"strategy {self.strategy.value!r} takes no columns")
        if self.strategy is ErasureStrategy.keep and not self.reason:
            raise ValueError("strategy 'keep' needs the reason given to the subject")
        return self


class Restriction(Strict):
    """A boolean column set to mark the row as restricted (Art. 18): stored, not used.

    `reference.column` marks rows through the row they belong to (an invoice's lines).
    """

    column: ColumnPath


CONSENT: LegalBasis = "6(1)(a)"
"""Consent (Art. 6(1)(a)): withdrawing it stops what rests on it (Art. 7(3)), nothing else."""


class PurposeRestriction(Strict):
    """A boolean column of the table, set when one purpose stops for the row: the row stays in
    use for the table's other purposes (unlike the table's `restriction`, which stops them all)."""

    column: Name


class Purpose(Strict):
    """One purpose the table's data is processed for and the one legal basis it rests on.

    A table on consent and another basis says per purpose which rests on which, so that a withdrawn
    consent stops only the purposes that rest on it (Art. 7(3)) and the others go on. A purpose on
    consent says how it stops: the columns held for it alone (`columns`, emptied) and/or a mark
    (`restriction`, set)."""

    purpose: Text = Field(description="What the subject is told (Art. 13(1)(c), 15(1)(a)).")
    legal_basis: LegalBasis
    columns: list[Name] = Field(
        [], description="Columns held for this purpose only: emptied when its consent is withdrawn."
    )
    restriction: PurposeRestriction | None = Field(
        None, description="A boolean column set when its consent is withdrawn: the purpose stops for the row."
    )

    @model_validator(mode="after")
    def _stops_only_on_consent(self) -> Purpose:
        if self.legal_basis != CONSENT and (self.columns or self.restriction is not None):
            raise ValueError(
                "only a purpose resting on consent (6(1)(a)) names `columns` or a `restriction`: "
                "they say how it stops when the consent is withdrawn"
            )
        if len(set(self.columns)) != len(self.columns):
            raise ValueError("`columns` names a column twice")
        return self

    @property
    def on_consent(self) -> bool:
        return self.legal_basis == CONSENT


class AutomatedDecision(Strict):
    """Art. 22 and 15(1)(h): the logic involved and its significance for the subject."""

    logic: Text
    significance: Text


class Table(Strict):
    description: Text
    primary_key: list[Name] = Field(min_length=1)
    columns: dict[Name, Column] = Field(min_length=1)
    belongs_to: Name | None = Field(
        None, description="A reference column: the row is about the subject of the row it references."
    )
    purpose: Text | None = None
    legal_basis: list[LegalBasis] = []
    recipients: list[str] = []
    sources: list[str] = []
    retention: Retention | None = None
    erasure: Erasure | None = None
    restriction: Restriction | None = None
    automated_decision: AutomatedDecision | None = None
    review: Review | None = None
    evidence: Evidence = []
    purposes: list[Purpose] = Field(
        [],
        description="Per purpose, the legal basis it rests on; required when `legal_basis` joins consent "
        "to another basis, so that a withdrawn consent stops only what rests on it.",
    )

    @model_validator(mode="after")
    def _purposes_fit(self) -> Table:
        """Every purpose's basis is the table's, every Art. 6 basis of the table has a purpose, and a
        consent purpose next to another basis says how it stops, with columns of this table."""
        if "columns" not in self.__dict__:  # a partial table the loader probes field by field
            return self
        bases = [b for b in self.legal_basis if b.startswith("6(")]
        mixed = CONSENT in bases and len(set(bases)) > 1
        if not self.purposes:
            if mixed:
                raise ValueError(
                    "`legal_basis` joins consent to another basis: list the `purposes`, each with the one "
                    "basis it rests on, so that a withdrawn consent stops only what rests on it"
                )
            return self
        problems: list[str] = []
        seen: dict[str, int] = {}
        for index, purpose in enumerate(self.purposes):
            at = f"purposes.{index}"
            if purpose.legal_basis not in self.legal_basis:
                problems.append(
                    f"{at}.legal_basis: {purpose.legal_basis} is not among the table's legal_basis"
                )
            if mixed and purpose.on_consent and not purpose.columns and purpose.restriction is None:
                problems.append(
                    f"{at}: a purpose on consent next to another basis says how it stops: the `columns` "
                    "held for it alone (emptied) or a `restriction` column (set)"
                )
            for position, column in enumerate(purpose.columns):
                where = f"{at}.columns.{position}"
                if column not in self.columns:
                    problems.append(f"{where}: no column {column!r} in the table")
                elif column in self.primary_key:
                    problems.append(f"{where}: a primary key column cannot be emptied")
                elif column in seen:
                    problems.append(f"{where}: {column!r} is held for purposes.{seen[column]} already")
                seen.setdefault(column, index)
            if purpose.restriction is not None:
                mark = purpose.restriction.column
                spec = self.columns.get(mark)
                if spec is None:
                    problems.append(f"{at}.restriction.column: no column {mark!r} in the table")
                elif spec.type is not ColumnType.boolean:
                    problems.append(f"{at}.restriction.column: {mark!r} must be a boolean column")
                elif self.restriction is not None and self.restriction.column == mark:
                    problems.append(
                        f"{at}.restriction.column: {mark!r} is the table's restriction (it stops every "
                        "purpose); a purpose's mark is a column of its own"
                    )
        for basis in bases:
            if not any(p.legal_basis == basis for p in self.purposes):
                problems.append(f"purposes: no purpose rests on {basis}, one of the table's legal_basis")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def consent_purposes(self) -> list[Purpose]:
        return [p for p in self.purposes if p.on_consent]

    def other_purposes(self) -> list[Purpose]:
        """The purposes a withdrawn consent leaves going (those on another basis)."""
        return [p for p in self.purposes if not p.on_consent]

    def sql_type(self, column: str) -> str:
        """`column`'s PostgreSQL type: keys travel as text and are cast to it, so that the column's
        index answers (comparing `column::text` instead reads the whole table)."""
        return self.columns[column].type.sql_name


class SystemHeader(Strict):
    """A system file without its tables (the loader validates each table on its own)."""

    title: Text
    description: Text
    connection: Connection
    role: Role
    api: HttpApi | None = Field(
        None,
        validate_default=True,
        description="An `http` system's API: auth, limits and a resource per table (http_api.py).",
    )
    review: Review | None = None
    evidence: Evidence = []

    @field_validator("api")
    @classmethod
    def _api_for_http(cls, value: HttpApi | None, info: ValidationInfo) -> HttpApi | None:
        connection = info.data.get("connection")
        if connection is None:
            return value  # the connection's own error is reported
        if connection.engine == "http" and value is None:
            raise ValueError("an `http` system describes its API here (auth, resources per table)")
        if connection.engine != "http" and value is not None:
            raise ValueError(f"only an `http` system has an `api` (this one is {connection.engine!r})")
        return value


class System(SystemHeader):
    tables: dict[Name, Table] = Field(min_length=1)

    @model_validator(mode="after")
    def _api_fits_tables(self) -> System:
        problems = [f"{format_path(path)}: {message}" for path, message in api_problems(self)]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Catalogue(Strict):
    """Every system, with the taxonomy and parties its tables refer to (checked together)."""

    taxonomy: Taxonomy
    parties: Parties
    systems: dict[Name, System]
