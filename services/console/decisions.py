"""Decisions only the data protection officer may take, by name: the console's `dpo` slot.

The erasure plan approval, the objection decision and the special-category release are added
here by their own areas (each a handler and a label); the route checks the `dpo` role before any
handler runs, so an agent cannot reach one by crafting the request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from schemas.requests import RequestStatus
from services.intake.service import Conflict
from services.runtime.ledger import change_status
from services.runtime.lifecycle import IllegalTransition

Form = dict[str, list[str]]
Handler = Callable[[asyncpg.Connection, uuid.UUID, Form, str], Awaitable[None]]


@dataclass(frozen=True)
class DpoDecision:
    label: str  # an i18n key
    handler: Handler
    form: str = "_dpo_reason.html"
    """The form's fields (a template in `services/console/templates/`): a reason by default."""


async def refuse(conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str) -> None:
    """Refuse a request (e.g. manifestly unfounded or excessive, Art. 12(5)), with the reason."""
    reason = (form.get("reason") or [""])[0].strip()
    if not 10 <= len(reason) <= 2000:
        raise Conflict("a refusal needs a reason of 10 to 2000 characters")
    try:
        await change_status(conn, request_id, RequestStatus.refused, actor=actor, reason=reason)
    except IllegalTransition as exc:
        raise Conflict(f"the request is {exc.current}; it cannot be refused now") from None


DPO_DECISIONS: dict[str, DpoDecision] = {"refuse": DpoDecision("refuse", refuse)}
