"""Arrangements over JSON: a case's promises and plans, recording and proposing, approving, the follow-up list."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import ValidationError as PydanticError

from doorstep.arrangements import selectors, services
from doorstep.arrangements.models import PlanKind, PromiseChannel, RepaymentPlan, RequestSource
from doorstep.core.api_types import MoneyText
from doorstep.portfolio import selectors as portfolio_selectors

router = Router(tags=["arrangements"])


class ErrorOut(Schema):
    detail: Any


class PromiseOut(Schema):
    id: int
    case_id: int
    amount: MoneyText
    due_on: dt.date
    channel: str
    status: str
    paid_amount: MoneyText
    taken_by_label: str


class InstalmentOut(Schema):
    number: int
    due_on: dt.date
    amount: MoneyText
    paid_amount: MoneyText
    state: str


class PlanOut(Schema):
    id: int
    case_id: int
    kind: str
    status: str
    total: MoneyText
    base: MoneyText
    waived: MoneyText
    discount: MoneyText
    paid_amount: MoneyText
    required_level: str
    proposed_by_label: str
    decided_by_label: str
    instalments: list[InstalmentOut]


class PlanRequestOut(Schema):
    id: int
    case_id: int
    source: str
    surplus: MoneyText
    affordable_monthly: MoneyText
    reasons: list[str]
    plan_id: int | None


class CaseArrangementsOut(Schema):
    promises: list[PromiseOut]
    plans: list[PlanOut]
    open_requests: list[PlanRequestOut]


class PromiseIn(Schema):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    due_on: dt.date
    channel: PromiseChannel
    note: str = Field("", max_length=500)


class PlanIn(Schema):
    kind: PlanKind
    first_due: dt.date
    count: int = Field(1, ge=1, le=60)
    discount_percent: Decimal = Field(Decimal("0"), ge=0, lt=100, decimal_places=2)
    deferral_days: int = Field(0, ge=0, le=365)
    include_remaining_principal: bool = False
    waive_penalty: bool = False
    waive_interest: bool = False
    forbearance_note: str = Field("", max_length=500)


class PlanRequestIn(Schema):
    monthly_income: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    monthly_expenses: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    dependants: int = Field(0, ge=0, le=20)
    proposed_monthly: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2)
    source: RequestSource
    note: str = Field("", max_length=500)


class DecisionIn(Schema):
    note: str = Field("", max_length=500)


class FollowUpOut(Schema):
    id: int
    case_id: int
    kind: str
    due_on: dt.date
    value: MoneyText
    reason: str
    collector_badge: str | None


def _plan(plan: RepaymentPlan) -> PlanOut:
    return PlanOut.model_validate(
        {
            **{name: getattr(plan, name) for name in (
                "id", "case_id", "kind", "status", "total", "base", "waived", "discount", "paid_amount",
                "required_level", "proposed_by_label", "decided_by_label",
            )},
            "instalments": [InstalmentOut.from_orm(item) for item in plan.instalments.order_by("number")],
        }
    )


def _body(request: HttpRequest, schema: type[Schema]) -> Any:
    """The JSON body, read only after the caller has been allowed to act here: a case outside their scope
    answers 404 whatever the body says."""
    try:
        return schema.model_validate_json(request.body or b"{}")
    except PydanticError as error:
        raise ValidationError([f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}" for item in error.errors()]) from error


def _documented(schema: type[Schema]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema.model_json_schema()}}}}


def _require(request: HttpRequest, permission: str) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm(permission):
        raise PermissionDenied("You may not do this.")
    return user


@router.get("/cases/{int:case_id}/arrangements", response={200: CaseArrangementsOut, 404: ErrorOut},
            summary="A case's promises, plans and open plan requests")
def case_arrangements(request: HttpRequest, case_id: int) -> CaseArrangementsOut:
    user = _require(request, "arrangements.view_repaymentplan")
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    found = selectors.case_arrangements(case=case)
    return CaseArrangementsOut(
        promises=[PromiseOut.from_orm(item) for item in found.promises],
        plans=[_plan(plan) for plan in found.plans],
        open_requests=[
            PlanRequestOut(
                id=item.pk, case_id=item.case_id, source=item.source, surplus=item.surplus,
                affordable_monthly=item.affordable_monthly, reasons=list(item.reasons),
                plan_id=item.plans.values_list("pk", flat=True).first(),
            )
            for item in found.open_requests
        ],
    )


@router.post("/cases/{int:case_id}/promises", response={201: PromiseOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Record a promise to pay", openapi_extra=_documented(PromiseIn))
def promise_create(request: HttpRequest, case_id: int) -> Status[PromiseOut]:
    user = _require(request, "arrangements.propose_plan")
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    payload = _body(request, PromiseIn)
    promise = services.promise_record(actor=user, case=case, **payload.dict())
    return Status(201, PromiseOut.from_orm(promise))


@router.post("/cases/{int:case_id}/plans", response={201: PlanOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Propose a repayment plan; within your authority it is active at once, else it waits for approval",
             openapi_extra=_documented(PlanIn))
def plan_create(request: HttpRequest, case_id: int) -> Status[PlanOut]:
    user = _require(request, "arrangements.propose_plan")
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    payload = _body(request, PlanIn)
    plan = services.plan_propose(actor=user, case=case, **payload.dict())
    return Status(201, _plan(plan))


@router.post("/cases/{int:case_id}/plan-requests",
             response={201: PlanRequestOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Record a borrower's request for a plan with its affordability check",
             openapi_extra=_documented(PlanRequestIn))
def plan_request_create(request: HttpRequest, case_id: int) -> Status[PlanRequestOut]:
    user = _require(request, "arrangements.propose_plan")
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    payload = _body(request, PlanRequestIn)
    item = services.plan_request(actor=user, case=case, **payload.dict())
    return Status(201, PlanRequestOut(
        id=item.pk, case_id=item.case_id, source=item.source, surplus=item.surplus,
        affordable_monthly=item.affordable_monthly, reasons=list(item.reasons),
        plan_id=item.plans.values_list("pk", flat=True).first(),
    ))


@router.get("/plans/approvals", response=list[PlanOut], summary="Plans waiting for your approval")
def approvals(request: HttpRequest) -> list[PlanOut]:
    user = _require(request, "arrangements.approve_plan")
    return [_plan(plan) for plan in selectors.approval_queue(user=user)[:200]]


@router.post("/plans/{int:plan_id}/approve", response={200: PlanOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Approve a plan within your authority", openapi_extra=_documented(DecisionIn))
def plan_approve(request: HttpRequest, plan_id: int) -> PlanOut:
    user = _require(request, "arrangements.approve_plan")
    selectors.plan_get(user=user, plan_id=plan_id)
    payload = _body(request, DecisionIn)
    return _plan(services.plan_approve(actor=user, plan_id=plan_id, note=payload.note))


@router.post("/plans/{int:plan_id}/reject", response={200: PlanOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
             summary="Reject a plan, saying why", openapi_extra=_documented(DecisionIn))
def plan_reject(request: HttpRequest, plan_id: int) -> PlanOut:
    user = _require(request, "arrangements.approve_plan")
    selectors.plan_get(user=user, plan_id=plan_id)
    payload = _body(request, DecisionIn)
    return _plan(services.plan_reject(actor=user, plan_id=plan_id, reason=payload.note))


@router.get("/follow-ups", response=list[FollowUpOut], summary="Open follow-up tasks on your cases, by date and value")
def follow_ups(request: HttpRequest) -> list[FollowUpOut]:
    user = _require(request, "arrangements.view_repaymentplan")
    return [
        FollowUpOut(
            id=task.pk, case_id=task.case_id, kind=task.kind, due_on=task.due_on, value=task.value,
            reason=task.reason, collector_badge=task.collector.badge_number if task.collector else None,
        )
        for task in selectors.follow_up_list(user=user)[:500]
    ]
