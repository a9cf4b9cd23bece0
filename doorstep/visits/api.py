"""Visit planning's JSON API: a team's day plan, a visit's other windows, and the borrower's answer,
cancellation and moves recorded by staff. Each operation calls one selector or service."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema

from doorstep.visits import selectors, services
from doorstep.visits.models import BorrowerResponse, PlanStop, ResponseChannel

router = Router(tags=["visits"])


class StopOut(Schema):
    visit_id: int
    sequence: int
    eta: dt.datetime
    starts_at: dt.datetime
    departs_at: dt.datetime
    status: str
    response: str
    window_start: dt.datetime
    window_end: dt.datetime


class RouteOut(Schema):
    crew_id: int
    collectors: list[str]
    departs_at: dt.datetime
    returns_at: dt.datetime
    distance_m: int
    stops: list[StopOut]


class DayPlanOut(Schema):
    team_id: int
    day: dt.date
    version: int
    solver: str
    ruleset_version: str
    summary: dict
    left_out: list
    routes: list[RouteOut]


class VisitOut(Schema):
    id: int
    case_id: int
    status: str
    response: str
    window_start: dt.datetime
    window_end: dt.datetime
    collector_badge: str
    partner_badge: str | None


class SlotOut(Schema):
    start: dt.datetime
    end: dt.datetime


class AnswerIn(Schema):
    answer: BorrowerResponse
    channel: ResponseChannel = ResponseChannel.PHONE
    note: str = Field("", max_length=300)
    new_window_start: dt.datetime | None = None


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


def _visit_out(visit) -> VisitOut:  # type: ignore[no-untyped-def]
    return VisitOut(
        id=visit.pk, case_id=visit.case_id, status=visit.status, response=visit.response,
        window_start=visit.window_start, window_end=visit.window_end, collector_badge=visit.collector.badge_number,
        partner_badge=visit.partner.badge_number if visit.partner_id else None,
    )


@router.get("/visits/teams/{team_id}/days/{day}", response=DayPlanOut, summary="The team's published plan for a day")
def day_plan(request: HttpRequest, team_id: int, day: dt.date) -> DayPlanOut:
    team = selectors.planner_team(request.user, team_id)
    plan = selectors.published_plan(team=team, day=day)
    if plan is None:
        raise Http404
    routes = []
    for route in plan.routes.select_related("crew__lead", "crew__partner").order_by("pk"):
        stops = PlanStop.objects.filter(route=route).select_related("visit").order_by("sequence")
        routes.append(RouteOut(
            crew_id=route.crew_id, collectors=[m.badge_number for m in route.crew.members],
            departs_at=route.departs_at, returns_at=route.returns_at, distance_m=route.distance_m,
            stops=[StopOut(visit_id=s.visit_id, sequence=s.sequence, eta=s.eta, starts_at=s.starts_at,
                           departs_at=s.departs_at, status=s.visit.status, response=s.visit.response,
                           window_start=s.visit.window_start, window_end=s.visit.window_end) for s in stops],
        ))
    return DayPlanOut(team_id=team.pk, day=plan.day, version=plan.version, solver=plan.solver,
                      ruleset_version=plan.ruleset_version, summary=plan.summary, left_out=plan.left_out,
                      routes=routes)


@router.get("/visits/{visit_id}/slots", response=list[SlotOut], summary="Other windows the visit could move to")
def visit_slots(request: HttpRequest, visit_id: int) -> list[SlotOut]:
    visit = selectors.visit_for_planner(request.user, visit_id)
    return [SlotOut(start=start, end=end) for start, end in selectors.visit_slots(visit=visit)]


@router.post("/visits/{visit_id}/answer", response=VisitOut, summary="Record the borrower's answer to the notice")
def visit_answer(request: HttpRequest, visit_id: int, payload: AnswerIn) -> VisitOut:
    visit = selectors.visit_for_planner(request.user, visit_id)
    result = services.visit_answer_record(
        actor=request.user, visit_id=visit.pk, answer=payload.answer, channel=payload.channel, note=payload.note,
        new_window_start=payload.new_window_start,
    )
    return _visit_out(result)


@router.post("/visits/{visit_id}/cancel", response=VisitOut, summary="Cancel a scheduled visit and re-plan its day")
def visit_cancel(request: HttpRequest, visit_id: int, payload: ReasonIn) -> VisitOut:
    visit = selectors.visit_for_planner(request.user, visit_id)
    return _visit_out(services.visit_cancel(actor=request.user, visit_id=visit.pk, reason=payload.reason))
