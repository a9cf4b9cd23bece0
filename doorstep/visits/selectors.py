"""Reads about visits, crews and day plans, each limited to what the person asking may see."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from doorstep.collectors.models import CaseAssignment, Collector, Team
from doorstep.core.roles import Role, has_role
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case
from doorstep.visits.allocation import shared_time
from doorstep.visits.models import (
    OPEN_VISIT_STATUSES,
    Crew,
    DayPlan,
    PlanStatus,
    Visit,
    VisitAlert,
    VisitStatus,
)
from doorstep.visits.slots import day_windows

User = AbstractBaseUser | AnonymousUser


def local_zone() -> ZoneInfo:
    """The zone shifts and days are counted in: the bank's (collectors work in it)."""
    return ZoneInfo(settings.TIME_ZONE)


# ---------------------------------------------------------------- who may see what


def may_plan(user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm("visits.plan_visits"))  # type: ignore[union-attr]


def planner_teams(user: User) -> QuerySet[Team]:
    """The teams whose field days `user` plans: all for managers and administrators, their own for a lead."""
    if not may_plan(user):
        return Team.objects.none()
    if has_role(user, Role.ADMIN, Role.MANAGER):
        return Team.objects.all()
    return Team.objects.filter(supervisor=user)


def planner_team(user: User, team_id: int) -> Team:
    team = planner_teams(user).filter(pk=team_id).first()
    if team is None:
        raise Http404
    return team


def visits_visible(user: User) -> QuerySet[Visit]:
    """Managers and compliance see every visit, a team lead those of their teams, a collector their own."""
    visits = Visit.objects.all()
    if not user.is_authenticated:
        return visits.none()
    if has_role(user, Role.ADMIN, Role.MANAGER, Role.COMPLIANCE):
        return visits
    scope = Q(pk__in=[])
    if has_role(user, Role.SUPERVISOR):
        scope |= Q(collector__team__supervisor=user)
    collector = Collector.objects.filter(user=user).first()
    if collector is not None:
        scope |= Q(collector=collector) | Q(partner=collector)
    return visits.filter(scope)


def visit_for_planner(user: User, visit_id: int) -> Visit:
    visit = (
        Visit.objects.filter(pk=visit_id, collector__team__in=planner_teams(user))
        .select_related("case", "borrower", "collector__user", "partner__user", "collector__team")
        .first()
    )
    if visit is None:
        raise Http404
    return visit


def alert_for_planner(user: User, alert_id: int) -> VisitAlert:
    alert = VisitAlert.objects.filter(pk=alert_id, collector__team__in=planner_teams(user)).first()
    if alert is None:
        raise Http404
    return alert


# ---------------------------------------------------------------- due cases


def latest_treatment_date(day: dt.date) -> dt.date | None:
    from doorstep.strategy.models import CaseTreatment

    return (
        CaseTreatment.objects.filter(business_date__lte=day)
        .order_by("-business_date")
        .values_list("business_date", flat=True)
        .first()
    )


def cases_due_visit(*, day: dt.date, team_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """Cases in collection whose strategy step is a field visit due by `day`, with a team and no open visit.

    One row per case: ids, team, current collector, borrower position, amount overdue, priority, script.
    """
    from doorstep.strategy.models import CaseTreatment

    business_date = latest_treatment_date(day)
    if business_date is None:
        return []
    due = CaseTreatment.objects.filter(
        business_date=business_date, next_channel="visit", next_due_on__lte=day, case=OuterRef("pk")
    )
    open_visit = Visit.objects.filter(case=OuterRef("pk"), status__in=OPEN_VISIT_STATUSES)
    cases = Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).filter(Exists(due)).filter(~Exists(open_visit))
    assignments = CaseAssignment.objects.filter(ended_at__isnull=True, case__in=cases)
    if team_ids is not None:
        assignments = assignments.filter(team_id__in=team_ids)
    rows = list(
        assignments.values(
            "case_id",
            "team_id",
            "collector_id",
            "case__borrower_id",
            "case__borrower__latitude",
            "case__borrower__longitude",
            "case__overdue_total",
        ).order_by("case_id")
    )
    treatments = {
        case_id: (priority, rule_key, due_on)
        for case_id, priority, rule_key, due_on in CaseTreatment.objects.filter(
            business_date=business_date, case_id__in=[row["case_id"] for row in rows]
        ).values_list("case_id", "next_priority", "rule_key", "next_due_on")
    }
    for row in rows:
        priority, rule_key, due_on = treatments.get(row["case_id"], (None, "", day))
        row["priority"] = priority
        row["rule_key"] = rule_key
        row["due_on"] = due_on
    return rows


def hostile_borrower_ids(borrower_ids: list[int]) -> set[int]:
    return set(
        Visit.objects.filter(borrower_id__in=borrower_ids, attitude="hostile").values_list("borrower_id", flat=True)
    )


def previous_visitors(borrower_ids: list[int]) -> dict[int, list[int]]:
    """For each borrower, the collectors of their completed visits, most recent first."""
    found: dict[int, list[int]] = {}
    for borrower_id, collector_id, partner_id in (
        Visit.objects.filter(borrower_id__in=borrower_ids, status=VisitStatus.COMPLETED)
        .order_by("-window_start")
        .values_list("borrower_id", "collector_id", "partner_id")
    ):
        known = found.setdefault(borrower_id, [])
        for member in (collector_id, partner_id):
            if member is not None and member not in known:
                known.append(member)
    return found


# ---------------------------------------------------------------- crews and slots


@dataclass(frozen=True)
class CrewTime:
    work_days: frozenset[int]
    shift_start: dt.time
    shift_end: dt.time
    visits_per_day: int


def crew_time(collectors: list[Collector]) -> CrewTime | None:
    """The days and hours every member of a crew works, or None if they never work together."""
    from doorstep.visits.allocation import CollectorInfo

    infos = [
        CollectorInfo(
            collector_id=c.pk, team_id=c.team_id, experienced=c.is_experienced, work_days=frozenset(map(int, c.work_days)),
            shift_start=c.shift_start, shift_end=c.shift_end, visits_per_day=c.visits_per_day,
        )
        for c in collectors
    ]
    days, start, end = infos[0].work_days, infos[0].shift_start, infos[0].shift_end
    for other in infos[1:]:
        shared = shared_time(infos[0], other)
        if shared is None:
            return None
        days, start, end = days & shared[0], max(start, shared[1]), min(end, shared[2])
    if not days or start >= end:
        return None
    return CrewTime(frozenset(days), start, end, min(c.visits_per_day for c in collectors))


def crew_of(collector_id: int) -> Crew | None:
    return (
        Crew.objects.filter(is_active=True)
        .filter(Q(lead_id=collector_id) | Q(partner_id=collector_id))
        .select_related("lead__user", "partner__user")
        .first()
    )


def visit_slots(*, visit: Visit, days: int = 7) -> list[tuple[dt.datetime, dt.datetime]]:
    """Other windows for `visit` in the coming `days` that the gate allows for the whole visit, on days its
    crew works and has room, inside the crew's shared shift."""
    from doorstep.compliance.services import ContactAction, check_many

    members = visit.collectors
    shared = crew_time(members)
    if shared is None:
        return []
    zone = local_zone()
    now = timezone.now()
    first_day = max(timezone.localdate(now, zone), visit.window_start.astimezone(zone).date() - dt.timedelta(days=1))
    booked = Counter(
        start.astimezone(zone).date()
        for start in Visit.objects.filter(collector=visit.collector, status__in=OPEN_VISIT_STATUSES)
        .exclude(pk=visit.pk)
        .values_list("window_start", flat=True)
    )
    candidates: list[tuple[dt.datetime, dt.datetime]] = []
    for offset in range(days + 1):
        day = first_day + dt.timedelta(days=offset)
        if day.isoweekday() not in shared.work_days or booked[day] >= shared.visits_per_day:
            continue
        for start, end in day_windows(day, shared.shift_start, shared.shift_end, zone):
            if start > now and (start, end) != (visit.window_start, visit.window_end):
                candidates.append((start, end))
    if not candidates:
        return []
    member_ids = tuple(member.pk for member in members)
    verdicts = check_many(
        [ContactAction(case_id=visit.case_id, channel="visit", start=start, end=end, collector_ids=member_ids)
         for start, end in candidates]
    )
    return [window for window, verdict in zip(candidates, verdicts, strict=True) if verdict.allowed]


# ---------------------------------------------------------------- for the borrower and the portal


@dataclass(frozen=True)
class BadgeCheck:
    found: bool
    collector: Collector | None
    name: str
    team_name: str
    photo_url: str
    on_duty: bool
    assigned_to_borrower: bool
    visit: Visit | None


def _photo_url(collector: Collector) -> str:
    photo = getattr(collector, "photo", None)
    try:
        return photo.url if photo else ""
    except ValueError:
        return ""


def badge_check(*, badge_number: str, borrower_id: int, at: dt.datetime) -> BadgeCheck:
    """Is the person at the door who they say they are? The same shape whether or not the badge exists."""
    collector = (
        Collector.objects.filter(badge_number=badge_number.strip().upper() or "-", is_active=True)
        .select_related("user", "team")
        .first()
    ) or Collector.objects.filter(badge_number=badge_number.strip() or "-", is_active=True).select_related(
        "user", "team"
    ).first()
    if collector is None:
        return BadgeCheck(False, None, "", "", "", False, False, None)
    zone = local_zone()
    local = at.astimezone(zone)
    on_duty = (
        str(local.isoweekday()) in collector.work_days and collector.shift_start <= local.time() <= collector.shift_end
    )
    mine = Q(collector=collector) | Q(partner=collector)
    day_start = dt.datetime.combine(local.date(), dt.time.min, tzinfo=zone)
    visit = (
        Visit.objects.filter(mine, borrower_id=borrower_id, window_start__gte=day_start,
                             window_start__lt=day_start + dt.timedelta(days=1))
        .exclude(status=VisitStatus.CANCELLED)
        .first()
    )
    assigned = visit is not None or CaseAssignment.objects.filter(
        ended_at__isnull=True, collector=collector, case__borrower_id=borrower_id
    ).exists() or Visit.objects.filter(mine, borrower_id=borrower_id, status__in=OPEN_VISIT_STATUSES).exists()
    return BadgeCheck(
        found=True,
        collector=collector,
        name=collector.display_name,
        team_name=collector.team.name,
        photo_url=_photo_url(collector),
        on_duty=on_duty,
        assigned_to_borrower=assigned,
        visit=visit,
    )


def borrower_visits(*, borrower_id: int) -> QuerySet[Visit]:
    """The borrower's visits, upcoming and past, latest first."""
    return (
        Visit.objects.filter(borrower_id=borrower_id)
        .select_related("collector__user", "partner__user", "case")
        .order_by("-window_start", "-id")
    )


# ---------------------------------------------------------------- the team's day


def published_plan(*, team: Team, day: dt.date) -> DayPlan | None:
    return DayPlan.objects.filter(team=team, day=day, status=PlanStatus.PUBLISHED).first()


def team_day_visits(*, team: Team, day: dt.date) -> QuerySet[Visit]:
    zone = local_zone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return (
        Visit.objects.filter(collector__team=team, window_start__gte=start, window_start__lt=start + dt.timedelta(days=1))
        .select_related("case", "borrower", "collector__user", "partner__user")
        .order_by("window_start", "id")
    )


def team_alerts(*, team: Team, open_only: bool = True) -> QuerySet[VisitAlert]:
    alerts = VisitAlert.objects.filter(collector__team=team).select_related("collector__user", "visit__borrower")
    if open_only:
        alerts = alerts.filter(acknowledged_at__isnull=True)
    return alerts


def progress(visits: list[Visit]) -> dict[str, int]:
    counts = Counter(visit.status for visit in visits)
    return {
        "total": len(visits),
        "scheduled": counts[VisitStatus.SCHEDULED],
        "checked_in": counts[VisitStatus.CHECKED_IN],
        "completed": counts[VisitStatus.COMPLETED],
        "cancelled": counts[VisitStatus.CANCELLED],
        "missed": counts[VisitStatus.MISSED],
    }


def to_float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None
