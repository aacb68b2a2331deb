"""Erasure and the other rights over HTTP (mounted in the public API): the plan and the DPO's
decision on it, the DPO's decision on an objection, lifting a restriction, and the suppression
check integrated systems call before they store a marketing sign-up. Who may call what is
`services.authority`'s table."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from schemas.requests import ContractInput
from services.api.auth import ApiKey, allowed
from services.api.web import in_transaction, runtime_pool
from services.authority import Action
from services.catalogue.loader import load_catalogue
from services.erasure.review import NoPlanToDecide, approve_plan, reject_plan
from services.erasure.rights import NoTask, Rights
from services.erasure.service import build_rights
from services.erasure.settings import ErasureSettings
from services.erasure.suppression import is_suppressed
from services.runtime.lifecycle import IllegalTransition

router = APIRouter(tags=["erasure"])


class PlanView(BaseModel):
    request_id: str
    status: str
    review_reasons: list[str]
    decided_by: str | None
    plan: dict[str, Any] = Field(
        description="Every found record with its decision, reason and date; keys only."
    )
    rescan: dict[str, Any] | None


class Approval(ContractInput):
    note: str | None = Field(default=None, max_length=2000)


class Rejection(ContractInput):
    reason: str = Field(min_length=3, max_length=2000, description="Told to the subject")


class ObjectionDecision(ContractInput):
    upheld: bool
    outcome: Literal["restrict", "erase"] | None = Field(
        default=None, description="When upheld: restrict, or erase, what rests on legitimate interest"
    )
    reason: str = Field(min_length=3, max_length=2000)


class SuppressionQuery(ContractInput):
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    national_id: str | None = Field(default=None, max_length=20)


class SuppressionAnswer(BaseModel):
    suppressed: bool = Field(description="True: refuse the sign-up (the person opted out or was erased)")


class Done(BaseModel):
    status: str
    records: int = 0


def rights_of(request: Request) -> Rights:
    state = request.app.state
    if getattr(state, "rights", None) is None:
        runtime = state.runtime
        if runtime is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "starting up")
        state.rights = build_rights(load_catalogue(runtime.settings.catalogue_dir), runtime)
    return state.rights  # type: ignore[no-any-return]


def _hash_key(request: Request) -> bytes:
    settings = request.app.state.settings
    return ErasureSettings().hash_key(settings.artifact_keys)


@router.get(
    "/v1/requests/{request_id}/plan", summary="The erasure plan: every record's decision, why, until when"
)
async def get_plan(
    request_id: uuid.UUID, request: Request, caller: Annotated[ApiKey, allowed(Action.view_case)]
) -> PlanView:
    row = await runtime_pool(request).fetchrow(
        """select status, review_reasons, decided_by, plan, rescan from erasure_plans
           where request_id = $1 and kind = 'request'""",
        request_id,
    )
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no erasure plan for this request")
    return PlanView(
        request_id=str(request_id),
        status=row["status"],
        review_reasons=list(row["review_reasons"]),
        decided_by=row["decided_by"],
        plan=row["plan"],
        rescan=row["rescan"],
    )


@router.post(
    "/v1/requests/{request_id}/plan/approve", summary="Approve a plan that waits for a decision (the DPO)"
)
async def approve(
    request_id: uuid.UUID,
    body: Approval,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.decide_plan)],
) -> Done:
    async with in_transaction(
        request, conflict="no plan waits for a decision", on=(NoPlanToDecide, IllegalTransition)
    ) as conn:
        await approve_plan(conn, request_id, actor=caller.name, note=body.note)
    return Done(status="approved")


@router.post(
    "/v1/requests/{request_id}/plan/reject",
    summary="Reject a plan: nothing is erased, the request is refused",
)
async def reject(
    request_id: uuid.UUID,
    body: Rejection,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.decide_plan)],
) -> Done:
    async with in_transaction(
        request, conflict="no plan waits for a decision", on=(NoPlanToDecide, IllegalTransition)
    ) as conn:
        await reject_plan(conn, request_id, actor=caller.name, reason=body.reason)
    return Done(status="rejected")


@router.post("/v1/requests/{request_id}/objection/decision", summary="The DPO's decision on an objection")
async def decide_objection(
    request_id: uuid.UUID,
    body: ObjectionDecision,
    request: Request,
    caller: Annotated[ApiKey, allowed(Action.decide_objection)],
) -> Done:
    if body.upheld and body.outcome is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, "an upheld objection says restrict or erase"
        )
    rights = rights_of(request)
    async with in_transaction(
        request, conflict="no open objection for this request", on=(NoTask, IllegalTransition)
    ) as conn:
        result = await rights.decide_objection(
            conn,
            request_id,
            actor=caller.name,
            upheld=body.upheld,
            outcome=body.outcome,
            reason=body.reason,
        )
    return Done(status=result)


@router.post(
    "/v1/requests/{request_id}/restriction/announce-lift",
    summary="Tell the subject their restriction will be lifted (required before lifting)",
)
async def announce_lift(
    request_id: uuid.UUID, request: Request, caller: Annotated[ApiKey, allowed(Action.lift_restriction)]
) -> Done:
    rights = rights_of(request)
    async with in_transaction(request, conflict="no restriction to announce", on=(NoTask,)) as conn:
        count = await rights.announce_lift(conn, request_id, actor=caller.name)
    return Done(status="announced", records=count)


@router.post(
    "/v1/requests/{request_id}/restriction/lift", summary="Lift a restriction the subject was told of"
)
async def lift(
    request_id: uuid.UUID, request: Request, caller: Annotated[ApiKey, allowed(Action.lift_restriction)]
) -> Done:
    rights = rights_of(request)
    async with in_transaction(request, conflict="no announced restriction to lift", on=(NoTask,)) as conn:
        count = await rights.lift(conn, request_id, actor=caller.name)
    return Done(status="lifted", records=count)


@router.post(
    "/v1/suppressions/check",
    summary="Whether a marketing sign-up must be refused (the person opted out or was erased)",
)
async def check_suppression(
    body: SuppressionQuery, request: Request, caller: Annotated[ApiKey, allowed(Action.check_suppression)]
) -> SuppressionAnswer:
    async with runtime_pool(request).acquire() as conn:
        suppressed = await is_suppressed(conn, _hash_key(request), body.model_dump())
    return SuppressionAnswer(suppressed=suppressed)
