"""The re-scan after a plan ran: the locator's own search again, and every row the plan meant to
change read back, so the certificate says only what was seen.

Three readings feed `certificate.check_rescan`: what the search finds now (with a person's
resolution of shared values and the request's scope), what each anonymised row still holds
(`personal_residue`), and what each row whose consent purposes were to stop still shows of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.catalogue.model import Catalogue
from services.erasure.certificate import (
    FoundRow,
    Rescan,
    RowId,
    check_rescan,
    personal_residue,
    row_id,
    unsearched,
)
from services.erasure.outage import RescanWaiting
from services.erasure.plan import ErasurePlan
from services.erasure.purposes import unstopped
from services.erasure.retention import Action
from services.erasure.systems import ErasureSystems
from services.locator.locate import Located, Locator, Waiting
from services.locator.request_search import search_request


class Rescanner:
    """Searches again and reads back what a plan changed (read-only on every system)."""

    def __init__(
        self, catalogue: Catalogue, systems: ErasureSystems, locator: Locator, hash_key: bytes
    ) -> None:
        self.catalogue = catalogue
        self.systems = systems
        self.locator = locator
        self.hash_key = hash_key

    async def rescan(self, conn: asyncpg.Connection, request_id: uuid.UUID, plan: ErasurePlan) -> Rescan:
        """`RescanWaiting` when a system cannot be read now: the plan's end is tried again later."""
        outcome = await search_request(conn, self.locator, request_id)
        if isinstance(outcome, Waiting) and outcome.systems:
            raise RescanWaiting(outcome.systems)
        if not isinstance(outcome, Located):
            return unsearched()
        found: list[FoundRow] = [
            (
                f.row.system,
                f.row.table,
                dict(zip(f.primary_key_columns, f.row.key, strict=True)),
                f.chain,
            )
            for f in outcome.findings
        ]
        return check_rescan(
            plan,
            found,
            [(s, t, k, ()) for s, t, k in plan.untouched],
            await self._residue(plan, found),
            await self._stops(plan),
        )

    async def _stops(self, plan: ErasurePlan) -> dict[RowId, tuple[str, ...]]:
        """Every row whose consent purposes were to stop, read back now: what it still shows of
        them (an emptied column holding a value, a mark not set). A row no longer there holds
        nothing; rows in systems an agent changes by hand are confirmed by the agent instead."""
        by_hand = set(plan.manual_systems)
        records = [r for r in plan.records if r.decision.purposes is not None and r.system not in by_hand]
        if not records:
            return {}
        values = await self.systems.read_rows((r.system, r.table, r.key) for r in records)
        out = {}
        for record in records:
            row = row_id(record.system, record.table, record.key)
            assert record.decision.purposes is not None
            out[row] = unstopped(record.decision.purposes, values.get(row))
        return out

    async def _residue(self, plan: ErasurePlan, found: Sequence[FoundRow]) -> dict[RowId, tuple[str, ...]]:
        """What each anonymised row the re-scan found still holds, read now (after the plan ran);
        a row that cannot be read is left out, and so is never excused."""
        anonymised = {
            row_id(r.system, r.table, r.key): r for r in plan.records if r.decision.action is Action.anonymise
        }
        records = [anonymised[row] for s, t, k, _ in found if (row := row_id(s, t, k)) in anonymised]
        if not records:
            return {}
        values = await self.systems.read_rows((r.system, r.table, r.key) for r in records)
        residue = {}
        for record in records:
            row = row_id(record.system, record.table, record.key)
            left = personal_residue(self.catalogue, record, values.get(row), self.hash_key)
            if left is not None:
                residue[row] = left
        return residue
