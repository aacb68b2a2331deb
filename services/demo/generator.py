"""The deterministic stream of demo rows: reference data and the showcase first, then random
people in chunks. Pure: no I/O, the same (seed, subjects) always gives the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.demo.population import Population
from services.demo.reference import emit_reference_data
from services.demo.rows import Emitter, Row, RowRef
from services.demo.scenarios import emit_showcase
from services.demo.showcase import reserved_national_ids, showcase_subjects
from services.demo.tables import TableSpec

GENERATOR_VERSION = 2
"""Bump when the rows a seed gives change: a database loaded by another version is reloaded."""

CHUNK_SIZE = 10_000
"""Random people per chunk; part of the output (co-parties are drawn within a chunk)."""


@dataclass(frozen=True)
class Chunk:
    people: int
    """Random people whose rows this chunk holds (0 for the first: reference data and showcase)."""
    rows: dict[TableSpec, list[Row]]


class DemoGenerator:
    """Iterate `chunks()` once; `counts` and `placements` are complete afterwards."""

    def __init__(self, *, seed: int, subjects: int, chunk_size: int = CHUNK_SIZE) -> None:
        if subjects < 0:
            raise ValueError("subjects must be zero or more")
        self.seed = seed
        self.subjects = subjects
        self._chunk_size = chunk_size
        self._emitter = Emitter()

    def chunks(self) -> Iterator[Chunk]:
        em = self._emitter
        organisations = emit_reference_data(em)
        emit_showcase(em, organisations)
        yield Chunk(0, em.take())
        reserved = reserved_national_ids()
        population = Population(self.seed, em, organisations, reserved)
        for first in range(0, self.subjects, self._chunk_size):
            count = min(self._chunk_size, self.subjects - first)
            population.emit_chunk(first, count)
            yield Chunk(count, em.take())

    @property
    def counts(self) -> dict[TableSpec, int]:
        """Rows emitted so far, per table."""
        return dict(self._emitter.counts)

    @property
    def placements(self) -> dict[str, frozenset[RowRef]]:
        """Each showcase subject's rows (empty for the unknown person)."""
        owners = self._emitter.owners
        return {subject.key: frozenset(owners.get(subject.key, ())) for subject in showcase_subjects()}


def showcase_placements() -> dict[str, frozenset[RowRef]]:
    """Where the generator puts each showcase subject's rows: the same for every seed and size."""
    generator = DemoGenerator(seed=0, subjects=0)
    for _ in generator.chunks():
        pass
    return generator.placements
