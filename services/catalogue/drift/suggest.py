"""The scaffold's classifier over a live schema: a suggestion for every live column. Pure.

A thin adapter: the scaffold's `classify` takes one column's facts and sample; this builds the
facts from the inspector's table (primary key, single-column foreign key, unique) as the
scaffold's draft does, and hands each text-like column its sample. The sampled values go no
further than `classify`.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.catalogue.scaffold.classify import ColumnFacts, Suggestion, classify
from services.catalogue.scaffold.introspect import LiveColumn, LiveSchema, LiveTable, Sample


def facts(table: LiveTable, column: LiveColumn, tables: frozenset[str] = frozenset()) -> ColumnFacts:
    """As the scaffold's draft states them (`draft._table`): a single-column foreign key to a table
    of the same schema is a reference, a single-column unique constraint or index makes it unique."""
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


def suggest(
    schema: LiveSchema, samples: Mapping[tuple[str, str], Sample]
) -> dict[tuple[str, str], Suggestion]:
    """(table, column) -> the classifier's suggestion; a text-like column unsampled (its table
    could not be read) is judged by its name and type alone."""
    found: dict[tuple[str, str], Suggestion] = {}
    tables = frozenset(table.name for table in schema.tables)
    for table in schema.tables:
        for column in table.columns:
            sample = samples.get((table.name, column.name))
            values = sample.values if sample is not None else None
            found[(table.name, column.name)] = classify(facts(table, column, tables), values)
    return found
