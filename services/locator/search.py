"""Who a row is about, round by round: the locator's matching rules, with no I/O.

The driver asks `Search.next_round()` what to look for, runs it against every system, and hands
each system's rows to `absorb`. A row is the subject's when
- it holds one of the subject's identifiers (an *anchor*: its other person identifiers are learned
  and searched for too, e.g. the phone and email on the debtor's case);
- it `belongs_to` a row of the subject's (a claim or letter of their case);
- it *mentions* a number named by one of the subject's rows (the case number of their case) and
  none of its person identifiers says it is about someone else (the guarantor's check that names
  the case is the guarantor's).
Identifiers that lead to two different people (two national ids, two emails, two phones) stop the
search as ambiguous: it never merges people, a human decides. The search then names the candidate
people (`candidates`); once a human has chosen one, the values the people share are searched as
`shared`: they never make a row the subject's on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.catalogue.model import IdentifierType
from services.systems.contract import SourceRow
from services.systems.plan import PERSON_KINDS, SystemPlan, TablePlan

Hop = dict[str, Any]
"""One step of a chain: how a value or row was reached (names systems, tables, keys; no values)."""


@dataclass(frozen=True)
class RowKey:
    system: str
    table: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class Finding:
    """A row of the subject's, with the chain of matches that led to it (seed first)."""

    row: RowKey
    primary_key_columns: tuple[str, ...]
    categories: tuple[str, ...]
    chain: tuple[Hop, ...]


@dataclass(frozen=True)
class Round:
    values: dict[IdentifierType, set[str]]
    parents: dict[str, dict[str, set[str]]]
    """system -> parent table -> keys whose children to fetch."""


@dataclass(frozen=True)
class Candidate:
    """One of the people an ambiguous search leads to: their own identifiers, and rows per system."""

    identifiers: dict[str, list[str]]
    systems: dict[str, int]


@dataclass(frozen=True)
class Ambiguity:
    """Identifiers that point at different people; counts only."""

    reason_code: str
    counts: dict[str, int]


@dataclass
class _Candidate:
    table: TablePlan
    row: RowKey
    values: dict[str, str | None]
    chain: tuple[Hop, ...]


@dataclass
class Search:
    """The state of one subject's search; `seeds` are the request's normalised identifiers."""

    plans: dict[str, SystemPlan]
    seeds: dict[IdentifierType, str]
    shared: frozenset[tuple[IdentifierType, str]] = frozenset()
    """Values a human said more than one person has: found through one, a row needs another match."""
    rounds: int = 0
    identity: dict[IdentifierType, set[str]] = field(default_factory=dict)
    owned: dict[RowKey, Finding] = field(default_factory=dict)
    _origin: dict[tuple[IdentifierType, str], tuple[Hop, ...]] = field(default_factory=dict)
    _claimed: set[tuple[IdentifierType, str]] = field(default_factory=set)
    _asked: set[tuple[IdentifierType, str]] = field(default_factory=set)
    _pending_mentions: dict[RowKey, _Candidate] = field(default_factory=dict)
    _new_parents: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    _round_rows: list[tuple[str, SourceRow]] = field(default_factory=list)
    _people: dict[RowKey, dict[IdentifierType, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind, value in self.seeds.items():
            self._origin[(kind, value)] = ({"via": "request", "kind": kind.value},)
            self._claimed.add((kind, value))
            if kind in PERSON_KINDS:
                self.identity.setdefault(kind, set()).add(value)

    # --------------------------------------------------------------------------------- driving

    def next_round(self) -> Round | None:
        """What to look for next, or None when nothing new is left (the search is complete)."""
        values: dict[IdentifierType, set[str]] = {}
        for kind, value in self._origin:
            if (kind, value) not in self._asked:
                values.setdefault(kind, set()).add(value)
        parents, self._new_parents = self._new_parents, {}
        if not values and not any(parents.values()):
            return None
        self._asked.update((kind, value) for kind, items in values.items() for value in items)
        self.rounds += 1
        return Round(values, parents)

    @property
    def _person_seeded(self) -> bool:
        """The request names the person; a number it gives that is not unique (a customer number)
        then only adds rows that agree with the person, instead of defining who they are."""
        return any(kind in PERSON_KINDS for kind in self.seeds)

    def absorb(self, system: str, rows: list[SourceRow]) -> None:
        """Collect one system's rows of the current round (decided together in `settle`)."""
        self._round_rows.extend((system, row) for row in rows)

    def settle(self, asked: Round) -> None:
        """Decide the round's rows: anchors first (they teach identifiers), then children, then
        mentions against what is known now."""
        anchors: list[_Candidate] = []
        children: list[_Candidate] = []
        mentions: list[_Candidate] = []
        for system, (table_name, key, parent, values) in self._round_rows:
            table = self.plans[system].tables[table_name]
            row = RowKey(system, table_name, tuple(key))
            named = dict(zip((c.name for c in table.identifiers), values, strict=True))
            match = self._classify(table, row, parent, named, asked)
            if match is None or row in self.owned:
                continue
            kind_of, chain = match
            target = {"anchor": anchors, "child": children, "mention": mentions}[kind_of]
            target.append(_Candidate(table, row, named, chain))
        self._round_rows = []
        for candidate in anchors:
            self._own(candidate)
            for column in candidate.table.person_columns():
                value = candidate.values[column.name]
                if value is not None:
                    self.identity.setdefault(column.kind, set()).add(value)
                    self._learn(column.kind, value, candidate)
        for candidate in children:
            self._own(candidate)
        for candidate in mentions:
            self._pending_mentions.setdefault(candidate.row, candidate)
        self._decide_mentions(final=False)

    def finish(self) -> None:
        """Mentions still undecided (a person identifier of a kind never learned) are not owned."""
        self._decide_mentions(final=True)

    def ambiguity(self) -> Ambiguity | None:
        """Set when the identifiers found so far belong to more than one person."""
        counts = {kind.value: len(values) for kind, values in sorted(self.identity.items())}
        if any(count > 1 for count in counts.values()):
            counts["rows"] = len(self.owned)
            return Ambiguity("ambiguous_identity", counts)
        return None

    def candidates(self) -> tuple[list[Candidate], set[tuple[IdentifierType, str]]]:
        """The people behind an ambiguity, and the values more than one of them has.

        A person is a group of values of the conflicting kinds found together on a row (one person's
        email and national id on their case); everything on that person's rows is theirs.
        """
        conflicting = {kind for kind, values in self.identity.items() if len(values) > 1}
        parent: dict[tuple[IdentifierType, str], tuple[IdentifierType, str]] = {}

        def root(node: tuple[IdentifierType, str]) -> tuple[IdentifierType, str]:
            while parent.setdefault(node, node) != node:
                node = parent[node]
            return node

        for values in self._people.values():
            keys = [(kind, value) for kind, value in values.items() if kind in conflicting]
            for other in keys[1:]:
                parent[root(other)] = root(keys[0])
            for key in keys[:1]:
                root(key)
        groups: dict[tuple[IdentifierType, str], list[RowKey]] = {}
        for row, values in self._people.items():
            keys = [(kind, value) for kind, value in values.items() if kind in conflicting]
            if keys:
                groups.setdefault(root(keys[0]), []).append(row)
        people: list[tuple[dict[str, set[str]], dict[str, int]]] = []
        for rows in groups.values():
            identifiers: dict[str, set[str]] = {}
            systems: dict[str, int] = {}
            for row in rows:
                systems[row.system] = systems.get(row.system, 0) + 1
                for kind, value in self._people[row].items():
                    identifiers.setdefault(kind.value, set()).add(value)
            people.append((identifiers, systems))
        seen: dict[tuple[str, str], int] = {}
        for found, _ in people:
            for name, spotted in found.items():
                for value in spotted:
                    seen[(name, value)] = seen.get((name, value), 0) + 1
        shared = {(IdentifierType(kind), value) for (kind, value), count in seen.items() if count > 1}
        result = [
            Candidate(
                {
                    kind: sorted(v for v in values if (IdentifierType(kind), v) not in shared)
                    for kind, values in sorted(identifiers.items())
                },
                dict(sorted(systems.items())),
            )
            for identifiers, systems in people
        ]
        result.sort(key=lambda c: sorted((k, v) for k, vs in c.identifiers.items() for v in vs))
        return result, shared

    def findings(self) -> list[Finding]:
        return sorted(self.owned.values(), key=lambda f: (f.row.system, f.row.table, f.row.key))

    # -------------------------------------------------------------------------------- matching

    def _classify(
        self,
        table: TablePlan,
        row: RowKey,
        parent: str | None,
        values: dict[str, str | None],
        asked: Round,
    ) -> tuple[str, tuple[Hop, ...]] | None:
        for column in table.identifiers:
            value = values[column.name]
            if value is None or value not in asked.values.get(column.kind, ()):
                continue
            if (column.kind in PERSON_KINDS and (column.kind, value) not in self.shared) or (
                (column.kind, value) in self._claimed and (column.unique or not self._person_seeded)
            ):
                return "anchor", self._hop(column.kind, value, row, column.name)
        if parent is not None and table.parent is not None:
            parent_row = RowKey(row.system, table.parent, (parent,))
            if parent_row in self.owned and parent in asked.parents.get(row.system, {}).get(table.parent, ()):
                chain = (*self.owned[parent_row].chain, _step("belongs_to", row, table.belongs_to or ""))
                return "child", chain
        for column in table.identifiers:
            value = values[column.name]
            if value is not None and value in asked.values.get(column.kind, ()):
                return "mention", self._hop(column.kind, value, row, column.name)
        return None

    def _hop(self, kind: IdentifierType, value: str, row: RowKey, column: str) -> tuple[Hop, ...]:
        return (*self._origin[(kind, value)], _step(kind.value, row, column))

    def _own(self, candidate: _Candidate) -> None:
        self.owned[candidate.row] = Finding(
            candidate.row, candidate.table.primary_key, candidate.table.categories, candidate.chain
        )
        people = {
            column.kind: value
            for column in candidate.table.person_columns()
            if (value := candidate.values[column.name]) is not None
        }
        if people:
            self._people[candidate.row] = people
        self._pending_mentions.pop(candidate.row, None)
        table = candidate.table
        plan = self.plans[candidate.row.system]
        if table.name in plan.parents:
            keys = self._new_parents.setdefault(candidate.row.system, {}).setdefault(table.name, set())
            keys.add(candidate.row.key[0])
        for column in table.identifiers:
            value = candidate.values[column.name]
            if column.unique and value is not None and column.kind not in PERSON_KINDS:
                self._learn(column.kind, value, candidate)

    def _learn(self, kind: IdentifierType, value: str, source: _Candidate) -> None:
        """A value found in one of the subject's rows: searched for next round, its chain kept."""
        self._origin.setdefault((kind, value), source.chain)

    def _decide_mentions(self, *, final: bool) -> None:
        for key, candidate in list(self._pending_mentions.items()):
            verdict = self._mention_verdict(candidate)
            if verdict == "own":
                self._own(candidate)
            elif verdict == "other" or final:
                del self._pending_mentions[key]

    def _mention_verdict(self, candidate: _Candidate) -> str:
        """`own` when every person identifier on the row is the subject's, `other` when one is
        someone else's, `unknown` while a kind on the row is not known for the subject yet."""
        unknown = False
        through_shared = agrees = False
        for column in candidate.table.person_columns():
            value = candidate.values[column.name]
            if value is None:
                continue
            if (column.kind, value) in self.shared:
                through_shared = True
                continue
            known = self.identity.get(column.kind)
            if not known:
                unknown = True
            elif value not in known:
                return "other"
            else:
                agrees = True
        if unknown or (through_shared and not agrees):
            return "unknown"  # a shared value alone says nothing about whose row it is
        return "own"


def _step(via: str, row: RowKey, column: str) -> Hop:
    return {"via": via, "system": row.system, "table": row.table, "key": list(row.key), "column": column}
