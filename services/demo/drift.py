"""`dsr demo drift`: make the demo's CRM drift from its catalogue entry, so the drift check shows.

It adds `contacts.backup_email` to the CRM's database and fills it with a copy of the contacts'
own email addresses: personal data the catalogue does not describe, which a
locate would miss. Then it asks the tracker's scheduled check to run at its next round (the
ledger's schedule row), so the finding appears in the console within a tracker interval (at the
latest within one drift interval). `--undo` drops the column again and the finding resolves.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.catalogue.drift.store import check_soon
from services.catalogue.dsn import database_url
from services.demo.loader import database_name

SYSTEM = "crm"
TABLE = "contacts"
COLUMN = "backup_email"


@dataclass(frozen=True)
class DemoDrift:
    database: str
    rows: int
    """Rows that got a copied email (adding), or 0 (undoing)."""
    added: bool
    scheduled: bool
    """Whether the ledger's drift schedule was asked for a check at the tracker's next round."""


async def make_drift(
    server_url: str, *, prefix: str = "", ledger_url: str | None = None, undo: bool = False
) -> DemoDrift:
    name = database_name(SYSTEM, prefix)
    conn = await asyncpg.connect(database_url(server_url, name))
    try:
        async with conn.transaction():
            if undo:
                await conn.execute(f"alter table {TABLE} drop column if exists {COLUMN}")
                rows = 0
            else:
                await conn.execute(f"alter table {TABLE} add column if not exists {COLUMN} text")
                status = await conn.execute(f"update {TABLE} set {COLUMN} = email where email is not null")
                rows = int(status.split()[-1])
    finally:
        await conn.close()
    scheduled = False
    if ledger_url:
        ledger = await asyncpg.connect(ledger_url)
        try:
            if await ledger.fetchval("select to_regclass('catalogue_drift_schedule') is not null"):
                await check_soon(ledger)
                scheduled = True
        finally:
            await ledger.close()
    return DemoDrift(name, rows, not undo, scheduled)
