"""The scaffold's classifier over a live schema: a suggestion for every live column. Pure.

A thin adapter: the scaffold's `classify` takes one column's facts (`draft.column_facts`, the same
the draft judges by) and sample; this hands each live column its own. The sampled values go no
further than `classify`.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.catalogue.scaffold.classify import Suggestion, classify
from services.catalogue.scaffold.draft import column_facts
from services.catalogue.scaffold.introspect import LiveSchema, Sample


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
            found[(table.name, column.name)] = classify(column_facts(table, column, tables), values)
    return found
