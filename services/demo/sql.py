"""The demo systems' DDL files (`sql/<system>.sql`, and `sql/<system>.indexes.sql` run after loading)."""

from __future__ import annotations

from importlib.resources import files


def schema_sql(system: str) -> str:
    """Tables, with primary keys only: cheap to keep up while bulk loading."""
    return (files("services.demo") / "sql" / f"{system}.sql").read_text(encoding="utf-8")


def index_sql(system: str) -> str:
    """Indexes on every identifier and reference column, and the foreign keys: built after loading."""
    return (files("services.demo") / "sql" / f"{system}.indexes.sql").read_text(encoding="utf-8")
