"""Reads of ratings and complaints, scoped to the person asking: compliance officers and managers see every
complaint, a team lead those about their own teams, everybody else none."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from doorstep.collectors.models import Team
from doorstep.core.roles import Role, sees_whole_portfolio, user_roles
from doorstep.feedback.models import (
    OPEN_COMPLAINT_STATUSES,
    Complaint,
    ComplaintCategory,
    ComplaintOutcome,
    ComplaintStatus,
    VisitRating,
)
from doorstep.portfolio.models import Borrower
from doorstep.visits.models import Visit

User = AbstractBaseUser | AnonymousUser
VIEW_PERMISSION = "feedback.view_feedback"
HANDLE_PERMISSION = "feedback.handle_complaints"
SOON = dt.timedelta(hours=24)


def require_view(user: User) -> None:
    if not user.has_perm(VIEW_PERMISSION):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not see complaints and ratings."))


def require_handle(user: User) -> None:
    if not user.has_perm(HANDLE_PERMISSION):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not handle complaints."))


def teams_visible(*, user: User) -> QuerySet[Team]:
    if sees_whole_portfolio(user):
        return Team.objects.all()
    if Role.SUPERVISOR in user_roles(user):
        return Team.objects.filter(supervisor=user)  # type: ignore[misc]
    return Team.objects.none()


def _team_condition(user: User, prefix: str = "") -> Q | None:
    """None: everything; otherwise the filter that keeps what `user`'s teams did."""
    if sees_whole_portfolio(user):
        return None
    if Role.SUPERVISOR in user_roles(user):
        return Q(**{f"{prefix}team__supervisor": user})
    return Q(pk__in=[])


def complaints_visible(*, user: User) -> QuerySet[Complaint]:
    complaints = Complaint.objects.all()
    if not user.has_perm(VIEW_PERMISSION):  # type: ignore[union-attr]
        return complaints.none()
    condition = _team_condition(user)
    return complaints if condition is None else complaints.filter(condition)


def ratings_visible(*, user: User) -> QuerySet[VisitRating]:
    ratings = VisitRating.objects.all()
    if not user.has_perm(VIEW_PERMISSION):  # type: ignore[union-attr]
        return ratings.none()
    condition = _team_condition(user, "visit__collector__")
    return ratings if condition is None else ratings.filter(condition)


def complaint_get(*, user: User, complaint_id: int) -> Complaint:
    """The complaint if `user` may see it; otherwise 404, the same as for one that does not exist."""
    complaint = (
        complaints_visible(user=user)
        .select_related("borrower", "case", "visit", "collector__user", "team", "handler")
        .prefetch_related("attachments", "events__actor")
        .filter(pk=complaint_id)
        .first()
    )
    if complaint is None:
        raise Http404("no such complaint")
    return complaint


def borrower_complaints(*, borrower: Borrower) -> QuerySet[Complaint]:
    """A borrower's own complaints, newest first, for the portal."""
    return (
        Complaint.objects.filter(borrower=borrower)
        .select_related("visit", "collector__user")
        .prefetch_related("attachments")
        .order_by("-received_at", "-pk")
    )


def handlers_for(*, complaint: Complaint) -> list[AbstractBaseUser]:
    """Who may be given this complaint: compliance officers and managers, and the lead of its team."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(
            Q(groups__name__in=[Role.COMPLIANCE.value, Role.MANAGER.value])
            | Q(supervised_teams=complaint.team_id, groups__name=Role.SUPERVISOR.value)
        )
        .distinct()
        .order_by("first_name", "username")
    )
    return list(users)


# ---------------------------------------------------------------- the clocks


@dataclass(frozen=True)
class Clock:
    """The deadline a complaint is working against now, and how it stands."""

    label: str
    due_at: dt.datetime | None
    remaining: dt.timedelta | None
    breached: bool
    soon: bool

    @property
    def remaining_text(self) -> str:
        if self.remaining is None:
            return ""
        seconds = abs(int(self.remaining.total_seconds()))
        days, rest = divmod(seconds, 86400)
        hours = rest // 3600
        if days:
            text = _("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
        else:
            text = _("%(hours)dh %(minutes)dm") % {"hours": hours, "minutes": (rest % 3600) // 60}
        return _("%(time)s overdue") % {"time": text} if self.breached else _("%(time)s left") % {"time": text}


def complaint_clock(complaint: Complaint, now: dt.datetime | None = None) -> Clock:
    now = now or timezone.now()
    if complaint.status == ComplaintStatus.RECEIVED:
        label, due = _("Acknowledge by"), complaint.acknowledge_due_at
    elif complaint.is_open:
        label, due = _("Decide by"), complaint.decide_due_at
    else:
        late = complaint.acknowledge_breached_at is not None or complaint.decide_breached_at is not None
        return Clock(_("Decided late") if late else _("Decided on time"), complaint.decided_at, None, late, False)
    remaining = due - now
    return Clock(label, due, remaining, remaining.total_seconds() < 0, dt.timedelta(0) <= remaining < SOON)


def breached_condition(now: dt.datetime) -> Q:
    """Open complaints past a deadline now, and decided ones that were decided late."""
    return (
        Q(status=ComplaintStatus.RECEIVED, acknowledge_due_at__lt=now)
        | Q(status__in=OPEN_COMPLAINT_STATUSES, decide_due_at__lt=now)
        | Q(acknowledge_breached_at__isnull=False)
        | Q(decide_breached_at__isnull=False)
    )


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"
    category: str = ""
    team_id: int | None = None
    mine: bool = False
    breached: bool = False
    query: str = ""


def complaints_queue(*, user: User, filters: QueueFilters, now: dt.datetime | None = None) -> QuerySet[Complaint]:
    """The handler's queue: open complaints first, those closest to (or past) their deadline on top."""
    now = now or timezone.now()
    complaints = complaints_visible(user=user).select_related("borrower", "collector__user", "team", "handler")
    if filters.status == "open":
        complaints = complaints.filter(status__in=OPEN_COMPLAINT_STATUSES)
    elif filters.status in ComplaintStatus.values:
        complaints = complaints.filter(status=filters.status)
    if filters.category in ComplaintCategory.values:
        complaints = complaints.filter(category=filters.category)
    if filters.team_id:
        complaints = complaints.filter(team_id=filters.team_id)
    if filters.mine:
        complaints = complaints.filter(handler=user)  # type: ignore[misc]
    if filters.breached:
        complaints = complaints.filter(breached_condition(now))
    if filters.query:
        query = filters.query.strip()
        condition = Q(borrower__name__icontains=query) | Q(collector__badge_number__iexact=query)
        if query.isdigit():
            condition |= Q(pk=int(query)) | Q(case_id=int(query))
        elif query.upper().startswith("TS") and "-" in query:
            tail = query.rsplit("-", 1)[1]
            if tail.isdigit():
                condition |= Q(pk=int(tail))
        complaints = complaints.filter(condition)
    return complaints.order_by("decided_at", "acknowledge_due_at", "decide_due_at", "pk")


# ---------------------------------------------------------------- a visit's feedback


@dataclass(frozen=True)
class VisitFeedback:
    visit: Visit
    rating: VisitRating | None
    complaints: list[Complaint]


def visit_feedback(*, visit: Visit, user: User | None = None) -> VisitFeedback:
    """A visit's rating and complaints, so that visit pages can show and link them.

    With `user`, only the complaints that user may see are listed.
    """
    rating = VisitRating.objects.filter(visit=visit).first()
    complaints = Complaint.objects.filter(visit=visit) if user is None else complaints_visible(user=user).filter(visit=visit)
    return VisitFeedback(visit=visit, rating=rating, complaints=list(complaints.order_by("received_at", "pk")))


def visit_for_feedback(*, user: User, visit_id: int) -> Visit:
    """The visit, if `user` may see feedback about it (its collector's team is theirs, or they see all)."""
    require_view(user)
    visits = Visit.objects.select_related("collector__user", "collector__team", "borrower", "case")
    condition = _team_condition(user, "collector__")
    if condition is not None:
        visits = visits.filter(condition)
    visit = visits.filter(pk=visit_id).first()
    if visit is None:
        raise Http404("no such visit")
    return visit


# ---------------------------------------------------------------- the dashboard


def _average(value: float | Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class FeedbackRow:
    key: str
    label: str
    team: str = ""
    ratings: int = 0
    stars_average: Decimal | None = None
    low_ratings: int = 0
    complaints: int = 0
    upheld: int = 0
    breached: int = 0
    open: int = 0


@dataclass
class WeekRow:
    week_start: dt.date
    ratings: int = 0
    stars_total: int = 0
    complaints: int = 0
    upheld: int = 0

    @property
    def stars_average(self) -> Decimal | None:
        return _average(self.stars_total / self.ratings) if self.ratings else None


@dataclass
class FeedbackDashboard:
    since: dt.date
    until: dt.date
    ratings: int = 0
    stars_average: Decimal | None = None
    complaints: int = 0
    open: int = 0
    upheld: int = 0
    breached: int = 0
    by_collector: list[FeedbackRow] = field(default_factory=list)
    by_team: list[FeedbackRow] = field(default_factory=list)
    by_category: list[FeedbackRow] = field(default_factory=list)
    by_week: list[WeekRow] = field(default_factory=list)
    breaches: list[Complaint] = field(default_factory=list)


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _day_range(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(since, dt.time(0, 0), tzinfo=zone)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone)
    return start, end


def feedback_dashboard(
    *, user: User, since: dt.date, until: dt.date, team_id: int | None = None, now: dt.datetime | None = None
) -> FeedbackDashboard:
    """Ratings and complaints received in [since, until], by collector, team, category and week."""
    require_view(user)
    now = now or timezone.now()
    start, end = _day_range(since, until)
    zone = timezone.get_current_timezone()
    ratings = ratings_visible(user=user).filter(at__gte=start, at__lt=end)
    complaints = complaints_visible(user=user).filter(received_at__gte=start, received_at__lt=end)
    if team_id:
        ratings = ratings.filter(visit__collector__team_id=team_id)
        complaints = complaints.filter(team_id=team_id)
    board = FeedbackDashboard(since=since, until=until)

    totals = ratings.aggregate(count=Count("pk"), average=Avg("stars"))
    board.ratings, board.stars_average = totals["count"], _average(totals["average"])
    breached = breached_condition(now)
    complaint_totals = complaints.aggregate(
        count=Count("pk"),
        open=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES)),
        upheld=Count("pk", filter=Q(outcome=ComplaintOutcome.UPHELD)),
        breached=Count("pk", filter=breached),
    )
    board.complaints, board.open = complaint_totals["count"], complaint_totals["open"]
    board.upheld, board.breached = complaint_totals["upheld"], complaint_totals["breached"]

    collectors: dict[int, FeedbackRow] = {}
    for row in ratings.values("visit__collector_id", "visit__collector__badge_number", "visit__collector__user__first_name",
                              "visit__collector__user__username", "visit__collector__team__name").annotate(
            count=Count("pk"), average=Avg("stars"), low=Count("pk", filter=Q(stars__lte=2))):
        name = row["visit__collector__user__first_name"] or row["visit__collector__user__username"]
        collectors[row["visit__collector_id"]] = FeedbackRow(
            key=str(row["visit__collector_id"]), label=f"{name} ({row['visit__collector__badge_number']})",
            team=row["visit__collector__team__name"] or "", ratings=row["count"],
            stars_average=_average(row["average"]), low_ratings=row["low"],
        )
    counted = dict(
        count=Count("pk"),
        upheld=Count("pk", filter=Q(outcome=ComplaintOutcome.UPHELD)),
        breached=Count("pk", filter=breached),
        open=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES)),
    )
    for row in complaints.filter(collector__isnull=False).values(
            "collector_id", "collector__badge_number", "collector__user__first_name", "collector__user__username",
            "collector__team__name").annotate(**counted):
        name = row["collector__user__first_name"] or row["collector__user__username"]
        entry = collectors.setdefault(row["collector_id"], FeedbackRow(
            key=str(row["collector_id"]), label=f"{name} ({row['collector__badge_number']})",
            team=row["collector__team__name"] or ""))
        entry.complaints, entry.upheld, entry.breached, entry.open = (
            row["count"], row["upheld"], row["breached"], row["open"])
    board.by_collector = sorted(collectors.values(), key=lambda r: (-r.upheld, -r.complaints, r.label))

    teams: dict[int | None, FeedbackRow] = {}
    for row in ratings.values("visit__collector__team_id", "visit__collector__team__name").annotate(
            count=Count("pk"), average=Avg("stars"), low=Count("pk", filter=Q(stars__lte=2))):
        teams[row["visit__collector__team_id"]] = FeedbackRow(
            key=str(row["visit__collector__team_id"]), label=row["visit__collector__team__name"] or "",
            ratings=row["count"], stars_average=_average(row["average"]), low_ratings=row["low"])
    for row in complaints.values("team_id", "team__name").annotate(**counted):
        entry = teams.setdefault(row["team_id"], FeedbackRow(key=str(row["team_id"]), label=row["team__name"] or ""))
        entry.complaints, entry.upheld, entry.breached, entry.open = (
            row["count"], row["upheld"], row["breached"], row["open"])
    for entry in teams.values():
        entry.label = entry.label or _("No team")
    board.by_team = sorted(teams.values(), key=lambda r: r.label)

    by_category = {row["category"]: row for row in complaints.values("category").annotate(**counted)}
    board.by_category = [
        FeedbackRow(key=value, label=str(label), complaints=by_category[value]["count"],
                    upheld=by_category[value]["upheld"], breached=by_category[value]["breached"],
                    open=by_category[value]["open"])
        for value, label in ComplaintCategory.choices
        if value in by_category
    ]

    weeks: dict[dt.date, WeekRow] = {}
    day = _week_start(since)
    while day <= until:
        weeks[day] = WeekRow(week_start=day)
        day += dt.timedelta(days=7)
    for at, stars in ratings.values_list("at", "stars"):
        week = weeks.setdefault(_week_start(at.astimezone(zone).date()), WeekRow(week_start=_week_start(at.date())))
        week.ratings += 1
        week.stars_total += stars
    for at, outcome in complaints.values_list("received_at", "outcome"):
        week = weeks.setdefault(_week_start(at.astimezone(zone).date()), WeekRow(week_start=_week_start(at.date())))
        week.complaints += 1
        week.upheld += outcome == ComplaintOutcome.UPHELD
    board.by_week = [weeks[key] for key in sorted(weeks)]

    board.breaches = list(
        complaints_visible(user=user)
        .filter(breached, status__in=OPEN_COMPLAINT_STATUSES)
        .select_related("borrower", "collector__user", "team", "handler")
        .order_by("decide_due_at", "pk")[:50]
    )
    return board


def stars_histogram(*, user: User, since: dt.date, until: dt.date, team_id: int | None = None) -> dict[int, int]:
    start, end = _day_range(since, until)
    ratings = ratings_visible(user=user).filter(at__gte=start, at__lt=end)
    if team_id:
        ratings = ratings.filter(visit__collector__team_id=team_id)
    counts: dict[int, int] = defaultdict(int)
    for stars, count in ratings.values_list("stars").annotate(count=Count("pk")).values_list("stars", "count"):
        counts[stars] = count
    return {stars: counts[stars] for stars in range(1, 6)}
