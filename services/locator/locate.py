"""One subject's search across every system: rounds of concurrent per-system statements until
nothing new is found, an ambiguity stops it, or a system cannot be read.

The outcome says which of three things happened; it never turns an unreadable system into
"no data".
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from services.catalogue.dsn import UnresolvedConnection, resolve_dsn
from services.catalogue.model import Catalogue, IdentifierType
from services.locator.connectors import Connector, PostgresConnector, SystemUnavailable
from services.locator.manual import AnswerPending, ManualConnector
from services.locator.plan import SystemPlan, build_plans
from services.locator.scope import direct_findings
from services.locator.search import Candidate, Finding, Search, SourceRow
from services.locator.settings import LocatorSettings


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


class _Unresolved:
    """A system whose connection reference names nothing here: unreadable until configured."""

    def __init__(self, name: str, cause: str) -> None:
        self.name = name
        self._cause = cause

    async def search(
        self, values: dict[IdentifierType, set[str]], parents: dict[str, set[str]]
    ) -> list[SourceRow]:
        raise SystemUnavailable(self.name, self._cause)

    async def close(self) -> None:
        return None


async def _answered_by_hand() -> list[SourceRow]:
    return []


class Locator:
    """The catalogue's systems with their connectors; `locate` is safe to call concurrently."""

    def __init__(
        self, plans: dict[str, SystemPlan], connectors: Mapping[str, Connector], *, max_rounds: int = 6
    ):
        self.plans = plans
        self.connectors = dict(connectors)
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
        """A PostgreSQL connector per system, each DSN resolved from the catalogue's reference, or a
        manual one (an agent's task) for a system the catalogue says has no interface."""
        plans = build_plans(catalogue)
        connectors: dict[str, Connector] = {}
        for name, plan in plans.items():
            if catalogue.systems[name].connection.engine == "manual":
                connectors[name] = ManualConnector(name)
                continue
            try:
                dsn = resolve_dsn(
                    catalogue.systems[name].connection,
                    server_url=server_url,
                    env=os.environ if env is None else env,
                    database_prefix=settings.demo_database_prefix,
                )
            except UnresolvedConnection as exc:
                connectors[name] = _Unresolved(name, str(exc))
                continue
            connectors[name] = PostgresConnector(
                plan,
                dsn,
                timeout=settings.locator_system_timeout,
                attempts=settings.locator_system_attempts,
                cooldown=settings.locator_system_cooldown_seconds,
                pool_max=settings.locator_system_connections,
            )
        return cls(plans, connectors, max_rounds=settings.locator_max_rounds)

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
                    if name in answered and isinstance(self.connectors[name], ManualConnector)
                    else self.connectors[name].search(asked.values, asked.parents.get(name, {}))
                    for name in systems
                ),
                return_exceptions=True,
            )
            statements += len(systems)
            searched.update(systems)
            down = sorted(r.system for r in results if isinstance(r, SystemUnavailable))
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
            *(self.connectors[name].search(values, {}) for name in systems), return_exceptions=True
        )
        down = sorted(r.system for r in results if isinstance(r, SystemUnavailable))
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
        await asyncio.gather(*(connector.close() for connector in self.connectors.values()))
