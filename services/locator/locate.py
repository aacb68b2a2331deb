"""One subject's search across every system: rounds of concurrent per-system statements until
nothing new is found, an ambiguity stops it, or a system cannot be read.

The outcome says which of three things happened; it never turns an unreadable system into
"no data".
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from services.catalogue.model import Catalogue, IdentifierType
from services.locator.scope import direct_findings
from services.locator.search import Candidate, Finding, Search
from services.locator.settings import LocatorSettings
from services.systems.contract import AnswerPending, SourceRow, SourceSystem, SystemUnknown
from services.systems.plan import SystemPlan
from services.systems.registry import SourceSystems


@dataclass(frozen=True)
class Located:
    findings: list[Finding]
    systems_searched: int
    rounds: int
    statements: int

    @property
    def by_system(self) -> dict[str, int]:
        return dict(sorted(Counter(finding.row.system for finding in self.findings).items()))


@dataclass(frozen=True)
class NeedsReview:
    """A human must decide; `counts` explain without personal data."""

    reason_code: str
    counts: dict[str, int] = field(default_factory=dict)
    systems: tuple[str, ...] = ()
    rounds: int = 0
    statements: int = 0
    candidates: tuple[Candidate, ...] = ()
    """For an ambiguity: the people the identifiers lead to (personal data: for the ledger only)."""
    shared: tuple[tuple[str, str], ...] = ()
    """For an ambiguity: the (kind, value) pairs more than one candidate has."""


@dataclass(frozen=True)
class Waiting:
    """These systems could not be read (`manual`: an agent must search them); search again later."""

    systems: tuple[str, ...]
    manual: tuple[str, ...] = ()


Outcome = Located | NeedsReview | Waiting


async def _answered_by_hand() -> list[SourceRow]:
    return []


class Locator:
    """The catalogue's systems behind the one contract; `locate` is safe to call concurrently."""

    def __init__(
        self, plans: dict[str, SystemPlan], systems: Mapping[str, SourceSystem], *, max_rounds: int = 6
    ):
        self.plans = plans
        self.systems = dict(systems)
        self.max_rounds = max_rounds

    @classmethod
    def from_catalogue(
        cls,
        catalogue: Catalogue,
        *,
        server_url: str | None,
        settings: LocatorSettings,
        env: Mapping[str, str] | None = None,
    ) -> Locator:
        """Every system's adapter (its engine from the catalogue, its address resolved from the
        catalogue's reference); a manual system's searches are an agent's tasks."""
        systems = SourceSystems.configured(
            catalogue,
            server_url=server_url,
            read_only=True,
            application_name="dsr-locator",
            settings=settings,
            env=env,
        )
        return cls(systems.plans, systems, max_rounds=settings.locator_max_rounds)

    async def locate(
        self,
        seeds: Mapping[IdentifierType, str],
        shared: Collection[tuple[IdentifierType, str]] = (),
        answered: Collection[str] = (),
    ) -> Outcome:
        """`shared`: values a human said more than one person has (after resolving an ambiguity);
        `answered`: manual systems an agent has searched by hand (their answer is in the ledger)."""
        search = Search(self.plans, dict(seeds), frozenset(shared))
        searched: set[str] = set()
        statements = 0
        while (asked := search.next_round()) is not None:
            if search.rounds > self.max_rounds:
                return NeedsReview("search_too_deep", {"rounds": self.max_rounds, "rows": len(search.owned)})
            systems = [
                name
                for name, plan in self.plans.items()
                if plan.wants(asked.values, asked.parents.get(name, {}))
            ]
            results = await asyncio.gather(
                *(
                    _answered_by_hand()
                    if name in answered and not self.systems[name].interface
                    else self.systems[name].search(asked.values, asked.parents.get(name, {}))
                    for name in systems
                ),
                return_exceptions=True,
            )
            statements += len(systems)
            searched.update(systems)
            down = sorted(r.system for r in results if isinstance(r, SystemUnknown))
            if down:
                manual = sorted(r.system for r in results if isinstance(r, AnswerPending))
                return Waiting(tuple(down), tuple(manual))
            for name, result in zip(systems, results, strict=True):
                if isinstance(result, BaseException):
                    raise result
                search.absorb(name, result)
            search.settle(asked)
            if (ambiguity := search.ambiguity()) is not None:
                people, common = search.candidates()
                return NeedsReview(
                    ambiguity.reason_code,
                    ambiguity.counts,
                    (),
                    search.rounds,
                    statements,
                    tuple(people),
                    tuple(sorted((kind.value, value) for kind, value in common)),
                )
        search.finish()
        return Located(search.findings(), len(searched), search.rounds, statements)

    async def locate_direct(self, kind: IdentifierType, value: str) -> Outcome:
        """One round for one identifier, keeping only rows that hold it themselves (issue 11's
        confirmed-email scope): nothing is learned from them, no children or mentions follow."""
        values = {kind: {value}}
        systems = [name for name, plan in self.plans.items() if plan.wants(values, {})]
        results = await asyncio.gather(
            *(self.systems[name].search(values, {}) for name in systems), return_exceptions=True
        )
        down = sorted(r.system for r in results if isinstance(r, SystemUnknown))
        if down:
            manual = sorted(r.system for r in results if isinstance(r, AnswerPending))
            return Waiting(tuple(down), tuple(manual))
        findings: list[Finding] = []
        for name, result in zip(systems, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            findings.extend(direct_findings(self.plans[name], kind, value, result))
        findings.sort(key=lambda f: (f.row.system, f.row.table, f.row.key))
        return Located(findings, len(systems), 1 if systems else 0, len(systems))

    async def close(self) -> None:
        await asyncio.gather(*(system.close() for system in self.systems.values()))
