"""The supervisor's pages: the team's field day (plans per crew, progress, outcomes, alerts) and the
actions on a visit (cancel, move, give to another crew, record the borrower's answer)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from doorstep.collectors.models import Collector, Team
from doorstep.visits import planning, selectors, services
from doorstep.visits.forms import AnswerForm, CaseReassignForm, MoveForm, ReasonForm, ReassignForm
from doorstep.visits.models import Crew, Visit, VisitStatus
from doorstep.visits.route_svg import RoutePoint, route_svg

LEFT_OUT_TEXT = {
    "no_allowed_window": gettext_lazy("no time in its window the rules allow"),
    "window_unreachable": gettext_lazy("cannot be reached within its window and the shift"),
    "no_time": gettext_lazy("no time left in the crew's day"),
    "no_location": gettext_lazy("the address has no position"),
}


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise Http404 from error


def _error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


@login_required
def plans(request: HttpRequest) -> HttpResponse:
    teams = list(selectors.planner_teams(request.user).order_by("branch_code", "name"))
    if not selectors.may_plan(request.user):
        raise Http404
    today = timezone.localdate()
    day = _day(request.GET["day"]) if request.GET.get("day") else today
    if len(teams) == 1:
        return redirect("visits:team_day", team_id=teams[0].pk, day=day.isoformat())
    rows = []
    for team in teams:
        plan = selectors.published_plan(team=team, day=day)
        visits = list(selectors.team_day_visits(team=team, day=day))
        rows.append({"team": team, "plan": plan, "progress": selectors.progress(visits),
                     "alerts": selectors.team_alerts(team=team).count()})
    return render(request, "visits/plans.html", {"rows": rows, "day": day})


def _crew_cards(plan: Any, visits: list[Visit]) -> list[dict[str, Any]]:
    by_id = {visit.pk: visit for visit in visits}
    cards = []
    if plan is None:
        return cards
    for route in plan.routes.select_related("crew__lead__user", "crew__partner__user").order_by("crew__lead__badge_number"):
        stops = list(route.stops.select_related("visit").order_by("sequence"))
        points = []
        rows = []
        for stop in stops:
            visit = by_id.get(stop.visit_id, stop.visit)
            rows.append({"stop": stop, "visit": visit})
            if visit.latitude is not None and visit.longitude is not None:
                points.append(RoutePoint(float(visit.latitude), float(visit.longitude), str(stop.sequence),
                                         visit.status))
        picture = route_svg((float(route.start_latitude), float(route.start_longitude)), points,
                            _("Route of %(crew)s") % {"crew": route.crew})
        cards.append({"route": route, "rows": rows, "picture": picture, "km": route.distance_m / 1000})
    return cards


@login_required
def team_day(request: HttpRequest, team_id: int, day: str) -> HttpResponse:
    team = selectors.planner_team(request.user, team_id)
    the_day = _day(day)
    visits = list(selectors.team_day_visits(team=team, day=the_day))
    plan = selectors.published_plan(team=team, day=the_day)
    planned_ids = set(plan.routes.values_list("stops__visit_id", flat=True)) if plan else set()
    left_out_ids = {int(entry["visit"]): entry["reason"] for entry in (plan.left_out if plan else [])}
    left_out = [
        {"visit": visit, "reason": LEFT_OUT_TEXT.get(left_out_ids[visit.pk], left_out_ids[visit.pk])}
        for visit in visits if visit.pk in left_out_ids
    ]
    unplanned = [v for v in visits if v.pk not in planned_ids and v.pk not in left_out_ids
                 and v.status == VisitStatus.SCHEDULED]
    outcomes = [v for v in visits if v.status == VisitStatus.COMPLETED]
    context = {
        "team": team,
        "day": the_day,
        "previous_day": the_day - dt.timedelta(days=1),
        "next_day": the_day + dt.timedelta(days=1),
        "plan": plan,
        "plan_km": (plan.summary.get("distance_m", 0) / 1000) if plan else 0,
        "cards": _crew_cards(plan, visits),
        "progress": selectors.progress(visits),
        "left_out": left_out,
        "unplanned": unplanned,
        "outcomes": outcomes,
        "cancelled": [v for v in visits if v.status == VisitStatus.CANCELLED],
        "alerts": list(selectors.team_alerts(team=team)),
        "teams": selectors.planner_teams(request.user).order_by("name"),
    }
    return render(request, "visits/team_day.html", context)


@login_required
@require_POST
def plan_build(request: HttpRequest, team_id: int, day: str) -> HttpResponse:
    team = selectors.planner_team(request.user, team_id)
    the_day = _day(day)
    try:
        plan = planning.day_plan_build(actor=request.user, team=team, day=the_day,
                                       reason=_("Planned again by %(name)s") % {"name": request.user.get_full_name()
                                                                                or request.user.get_username()})
    except PermissionDenied as error:
        raise Http404 from error
    messages.success(request, _("Version %(version)s of the plan is published.") % {"version": plan.version})
    return redirect("visits:team_day", team_id=team.pk, day=the_day.isoformat())


@login_required
@require_POST
def team_allocate(request: HttpRequest, team_id: int, day: str) -> HttpResponse:
    team = selectors.planner_team(request.user, team_id)
    the_day = _day(day)
    allocation = services.visits_allocate(actor=request.user, day=the_day, team_ids=[team.pk])
    schedule = services.visits_schedule(actor=request.user, day=the_day, team_ids=[team.pk],
                                        allocation=allocation)
    messages.success(request, _("%(allocated)s cases allocated, %(scheduled)s visits scheduled with notice.") % {
        "allocated": allocation.allocated, "scheduled": schedule.scheduled})
    return redirect("visits:team_day", team_id=team.pk, day=the_day.isoformat())


def _team_collectors(request: HttpRequest, visit: Visit) -> Any:
    """Who may take the visit's case: the planner's field-ready collectors, other than its collector now."""
    return (Collector.objects.filter(team__in=selectors.planner_teams(request.user),
                                     pk__in=services.field_ready_ids(on=timezone.localdate()))
            .exclude(pk=visit.collector_id).select_related("user").order_by("badge_number"))


def _visit_context(request: HttpRequest, visit: Visit) -> dict[str, Any]:
    zone = selectors.local_zone()
    slots = selectors.visit_slots(visit=visit) if visit.status == VisitStatus.SCHEDULED else []
    team: Team = visit.collector.team
    crews = Crew.objects.filter(is_active=True, team=team).select_related("lead__user", "partner__user")
    return {
        "visit": visit,
        "day": visit.window_start.astimezone(zone).date(),
        "cancel_form": ReasonForm(prefix="cancel"),
        "move_form": MoveForm(prefix="move", slots=slots, zone=zone),
        "reassign_form": ReassignForm(prefix="reassign", crews=crews.exclude(lead_id=visit.collector_id)),
        "answer_form": AnswerForm(prefix="answer"),
        "case_form": CaseReassignForm(prefix="case", collectors=_team_collectors(request, visit)),
        "history": list(selectors.borrower_visits(borrower_id=visit.borrower_id).exclude(pk=visit.pk)[:10]),
    }


@login_required
def visit_detail(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    return render(request, "visits/visit_detail.html", _visit_context(request, visit))


def _back(visit: Visit) -> HttpResponse:
    day = visit.window_start.astimezone(selectors.local_zone()).date()
    return redirect("visits:team_day", team_id=visit.collector.team_id, day=day.isoformat())


def _invalid(request: HttpRequest, visit: Visit, key: str, form: Any) -> HttpResponse:
    context = _visit_context(request, visit)
    context[key] = form
    return render(request, "visits/visit_detail.html", context, status=400)


@login_required
@require_POST
def visit_cancel(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    form = ReasonForm(request.POST, prefix="cancel")
    if not form.is_valid():
        return _invalid(request, visit, "cancel_form", form)
    try:
        services.visit_cancel(actor=request.user, visit_id=visit.pk, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return _invalid(request, visit, "cancel_form", form)
    messages.success(request, _("The visit is cancelled and the day re-planned."))
    return _back(visit)


@login_required
@require_POST
def visit_move(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    form = MoveForm(request.POST, prefix="move", slots=selectors.visit_slots(visit=visit), zone=selectors.local_zone())
    if not form.is_valid():
        return _invalid(request, visit, "move_form", form)
    try:
        moved = services.visit_move(actor=request.user, visit_id=visit.pk,
                                    new_window_start=form.cleaned_data["new_window_start"],
                                    reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return _invalid(request, visit, "move_form", form)
    messages.success(request, _("The visit is moved; the borrower is sent a new notice."))
    return _back(moved)


@login_required
@require_POST
def visit_reassign(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    crews = Crew.objects.filter(is_active=True, team__in=selectors.planner_teams(request.user))
    form = ReassignForm(request.POST, prefix="reassign", crews=crews)
    if not form.is_valid():
        return _invalid(request, visit, "reassign_form", form)
    try:
        services.visit_reassign(actor=request.user, visit_id=visit.pk, crew_id=form.cleaned_data["crew"].pk,
                                reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return _invalid(request, visit, "reassign_form", form)
    messages.success(request, _("The visit is given to another crew and the day re-planned."))
    return _back(visit)


@login_required
@require_POST
def case_reassign(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    form = CaseReassignForm(request.POST, prefix="case", collectors=_team_collectors(request, visit))
    if not form.is_valid():
        return _invalid(request, visit, "case_form", form)
    try:
        moved = services.case_reassign(actor=request.user, case_id=visit.case_id,
                                       collector_id=form.cleaned_data["collector"].pk, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return _invalid(request, visit, "case_form", form)
    messages.success(request, _("The case is given to %(collector)s; %(count)s scheduled visits follow it.") % {
        "collector": form.cleaned_data["collector"], "count": moved})
    return _back(visit)


@login_required
@require_POST
def visit_answer(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_planner(request.user, visit_id)
    form = AnswerForm(request.POST, prefix="answer")
    if not form.is_valid():
        return _invalid(request, visit, "answer_form", form)
    try:
        services.visit_answer_record(actor=request.user, visit_id=visit.pk, answer=form.cleaned_data["answer"],
                                     channel=form.cleaned_data["channel"], note=form.cleaned_data["note"])
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return _invalid(request, visit, "answer_form", form)
    messages.success(request, _("The borrower's answer is recorded."))
    return redirect(reverse("visits:visit_detail", args=[visit.pk]))


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_planner(request.user, alert_id)
    services.alert_acknowledge(actor=request.user, alert_id=alert.pk)
    messages.success(request, _("Alert acknowledged."))
    day = timezone.localdate(alert.raised_at, selectors.local_zone())
    return redirect("visits:team_day", team_id=alert.collector.team_id, day=day.isoformat())
