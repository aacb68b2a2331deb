"""Art. 19 notices: each recipient the catalogue lists for a changed table is told, through an
event the notifier sends on, and the notice is kept so that a later access request's extract can
say who was told what (`recipients_told`)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RecipientNotified
from schemas.registry import NOTICES
from services.runtime.outbox import enqueue

NAME = "fulfilment"


async def notify_recipients(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    reference: str,
    affected: Mapping[tuple[str, str], set[str]],
    counts: Mapping[tuple[str, str], int],
) -> list[str]:
    """One notice per (recipient, change), naming the tables; returns the recipients told."""
    for (recipient, change), tables in sorted(affected.items()):
        await conn.execute(
            """insert into recipient_notices (request_id, recipient, change, tables, record_count)
               values ($1, $2, $3, $4, $5)""",
            request_id,
            recipient,
            change,
            sorted(tables),
            counts[(recipient, change)],
        )
        await enqueue(
            conn,
            NOTICES,
            Envelope[RecipientNotified](
                event_type="recipient.notified",
                producer=NAME,
                request_id=request_id,
                payload=RecipientNotified(
                    reference=reference,
                    recipient=recipient,
                    change=change,
                    tables=sorted(tables),
                    record_count=counts[(recipient, change)],
                ),
            ),
        )
    return sorted({recipient for recipient, _ in affected})


async def recipients_told(conn: asyncpg.Connection, identifiers: Mapping[str, str]) -> list[dict[str, Any]]:
    """Every notice given about the person's earlier requests (matched by any of their normalised
    identifiers), oldest first: for the extract of a later access request (Art. 19, last sentence).

    Each row also carries the earlier request's own `identifiers` (kind -> value), so that the
    caller can leave out a request that only shares a case number or a family's mailbox
    (`services.fulfilment.told`)."""
    pairs = [(kind, value) for kind, value in identifiers.items()]
    if not pairs:
        return []
    rows = await conn.fetch(
        """select r.reference, n.recipient, n.change, n.tables, n.record_count, n.created_at,
                  (select jsonb_object_agg(i.kind, i.value) from request_identifiers i
                   where i.request_id = r.id) as identifiers
           from recipient_notices n join requests r on r.id = n.request_id
           where n.request_id in (
               select i.request_id from unnest($1::text[], $2::text[]) as t(kind, value)
               cross join lateral (  -- an index lookup per identifier, even on a plan cached while small
                   select request_id from request_identifiers
                   where kind = t.kind and value = t.value offset 0) i)
           order by n.id""",
        [k for k, _ in pairs],
        [v for _, v in pairs],
    )
    return [dict(r) for r in rows]
