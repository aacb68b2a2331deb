"""Decisions only the data protection officer may take, by name: the console's `dpo` slot.

Each is a label and a handler that calls the same service function as the API: the erasure plan's
approval or rejection (`services.erasure.review`), the objection decision (`Rights.decide_objection`),
the special-category release (`services.fulfilment.review.decide`), a refusal. Each names its
action in the product's authority table (`services.authority`), the same action the API's route
for it takes, and each has a route of its own whose guard checks that action before any handler
runs, so an agent cannot reach one by crafting the request, on either surface.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from fastapi import Request

from schemas.requests import RequestStatus
from services.authority import Action
from services.intake.errors import Conflict
from services.runtime.ledger import change_status
from services.runtime.lifecycle import IllegalTransition

Form = dict[str, list[str]]
Handler = Callable[[asyncpg.Connection, uuid.UUID, Form, str, Request], Awaitable[None]]


def _always(_status: str, _type: str, _plan: str | None) -> bool:
    return True


@dataclass(frozen=True)
class DpoDecision:
    label: str  # an i18n key
    handler: Handler
    action: Action
    """The authority table's action (who may take it)."""
    form: str = "_dpo_reason.html"
    """The form's fields (a template in `services/console/templates/`): a reason by default."""
    applies: Callable[[str, str, str | None], bool] = _always
    """Whether the decision is open for a request of this status and type with this plan status."""


def _plan_waits(status: str, _type: str, plan: str | None) -> bool:
    return status == "needs_review" and plan == "needs_review"


def _special_waits(status: str, kind: str, plan: str | None) -> bool:
    return status == "needs_review" and kind in ("access", "portability")


def _objection_open(status: str, kind: str, plan: str | None) -> bool:
    return status == "needs_review" and kind == "objection" and plan is None


def open_decisions(status: str, kind: str, plan: str | None) -> dict[str, DpoDecision]:
    """The decisions that apply now, in the order shown."""
    return {name: d for name, d in DPO_DECISIONS.items() if d.applies(status, kind, plan)}


def _reason(form: Form) -> str:
    reason = (form.get("reason") or [""])[0].strip()
    if not 10 <= len(reason) <= 2000:
        raise Conflict("a decision needs a reason of 10 to 2000 characters")
    return reason


async def refuse(
    conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str, _request: Request
) -> None:
    """Refuse a request (e.g. manifestly unfounded or excessive, Art. 12(5)), with the reason."""
    reason = _reason(form)
    try:
        await change_status(conn, request_id, RequestStatus.refused, actor=actor, reason=reason)
    except IllegalTransition as exc:
        raise Conflict(f"the request is {exc.current}; it cannot be refused now") from None


async def approve_plan(
    conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str, _request: Request
) -> None:
    from services.erasure.review import NoPlanToDecide
    from services.erasure.review import approve_plan as approve

    try:
        await approve(conn, request_id, actor=actor, note=_reason(form))
    except (NoPlanToDecide, IllegalTransition):
        raise Conflict("no erasure plan waits for a decision") from None


async def reject_plan(
    conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str, _request: Request
) -> None:
    from services.erasure.review import NoPlanToDecide
    from services.erasure.review import reject_plan as reject

    try:
        await reject(conn, request_id, actor=actor, reason=_reason(form))
    except (NoPlanToDecide, IllegalTransition):
        raise Conflict("no erasure plan waits for a decision") from None


def _special(decision: str) -> Handler:
    async def handler(
        conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str, request: Request
    ) -> None:
        from services.fulfilment.api import access_of
        from services.fulfilment.extract import SpecialRelease
        from services.fulfilment.review import NotAwaitingRelease, decide

        try:
            await decide(
                conn,
                access_of(request),
                request_id,
                decision=SpecialRelease(decision),
                reason=_reason(form),
                actor=actor,
            )
        except (NotAwaitingRelease, IllegalTransition):
            raise Conflict("no special-category data waits for release") from None

    return handler


def _objection(upheld: bool, outcome: str | None) -> Handler:
    async def handler(
        conn: asyncpg.Connection, request_id: uuid.UUID, form: Form, actor: str, request: Request
    ) -> None:
        from services.erasure.http import rights_of
        from services.erasure.rights import NoTask

        try:
            await rights_of(request).decide_objection(
                conn, request_id, actor=actor, upheld=upheld, outcome=outcome, reason=_reason(form)
            )
        except (NoTask, IllegalTransition):
            raise Conflict("no open objection for this request") from None

    return handler


_PLAN, _OBJECTION, _SPECIAL = Action.decide_plan, Action.decide_objection, Action.release_special

DPO_DECISIONS: dict[str, DpoDecision] = {
    "approve_plan": DpoDecision("approve_plan", approve_plan, _PLAN, applies=_plan_waits),
    "reject_plan": DpoDecision("reject_plan", reject_plan, _PLAN, applies=_plan_waits),
    "release_special": DpoDecision("release_special", _special("release"), _SPECIAL, applies=_special_waits),
    "withhold_special": DpoDecision(
        "withhold_special", _special("withhold"), _SPECIAL, applies=_special_waits
    ),
    "uphold_objection_restrict": DpoDecision(
        "uphold_objection_restrict", _objection(True, "restrict"), _OBJECTION, applies=_objection_open
    ),
    "uphold_objection_erase": DpoDecision(
        "uphold_objection_erase", _objection(True, "erase"), _OBJECTION, applies=_objection_open
    ),
    "dismiss_objection": DpoDecision(
        "dismiss_objection", _objection(False, None), _OBJECTION, applies=_objection_open
    ),
    "refuse": DpoDecision("refuse", refuse, Action.refuse),
}
