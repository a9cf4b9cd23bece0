"""Reads behind the dashboards, scoped to the person asking: the bank for managers and compliance, a
team lead's own teams, a collector's own cases. Bank-wide and team figures read the monthly summaries;
a collector's figures read their own case months (a few hundred rows through an index)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Case as CaseWhen
from django.db.models import Count, IntegerField, Q, QuerySet, Sum, When
from django.utils.translation import gettext as _

from doorstep.collectors.models import Collector, Team
from doorstep.core.roles import Role, sees_whole_portfolio, user_roles
from doorstep.portfolio.models import Case
from doorstep.reports import facts, metrics
from doorstep.reports.models import CaseMonthFact, CollectorMonth, EntryCube, MonthCube, MonthlyReport
from doorstep.visits.models import Visit, VisitStatus

User = AbstractBaseUser | AnonymousUser
TREND_MONTHS = 12
MAP_POINTS = 2000
SLICES = ("branch_code", "team_id", "product_code", "bucket", "strategy", "arm")


def require_dashboards(user: User) -> None:
    if not user.has_perm("reports.view_dashboards"):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not see the dashboards."))


def require_bank_reports(user: User) -> None:
    if not user.has_perm("reports.view_bank_reports"):  # type: ignore[union-attr]
        raise PermissionDenied(_("You may not see the bank's reports."))


@dataclass(frozen=True)
class Scope:
    """Which cases a person's figures cover: everything (both None), some teams, or one collector."""

    kind: str  # "bank", "teams", "collector"
    team_ids: tuple[int, ...] | None = None
    collector_id: int | None = None


def scope_for(user: User) -> Scope:
    if sees_whole_portfolio(user):
        return Scope("bank")
    roles = user_roles(user)
    if Role.SUPERVISOR in roles:
        teams = tuple(Team.objects.filter(supervisor=user).values_list("pk", flat=True))  # type: ignore[misc]
        return Scope("teams", team_ids=teams)
    if Role.COLLECTOR in roles:
        collector = Collector.objects.filter(user=user).first()  # type: ignore[misc]
        return Scope("collector", collector_id=collector.pk if collector else -1)
    return Scope("teams", team_ids=())


@dataclass(frozen=True)
class Filters:
    month: dt.date
    branch_code: str = ""
    team_id: int | None = None
    collector_id: int | None = None
    product_code: str = ""
    bucket: str = ""
    strategy: str = ""
    arm: str = ""
    slice_by: str = "branch_code"

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters as query parameters (for links and exports), with `changes` applied."""
        values = {
            "month": self.month.strftime("%Y-%m"),
            "branch": self.branch_code,
            "team": str(self.team_id or ""),
            "collector": str(self.collector_id or ""),
            "product": self.product_code,
            "bucket": self.bucket,
            "strategy": self.strategy,
            "arm": self.arm,
        }
        values.update({key: str(value) for key, value in changes.items()})
        return {key: value for key, value in values.items() if value}


def _collector_level(scope: Scope, filters: Filters) -> int | None:
    if scope.kind == "collector":
        return scope.collector_id
    return filters.collector_id


def _scoped(queryset: QuerySet[Any], scope: Scope, filters: Filters, *, has_collector: bool) -> QuerySet[Any]:
    if scope.team_ids is not None:
        queryset = queryset.filter(team_id__in=scope.team_ids)
    collector_id = _collector_level(scope, filters)
    if collector_id is not None and has_collector:
        queryset = queryset.filter(collector_id=collector_id)
    if filters.branch_code:
        queryset = queryset.filter(branch_code=filters.branch_code)
    if filters.team_id:
        queryset = queryset.filter(team_id=filters.team_id)
    if filters.product_code:
        queryset = queryset.filter(product_code=filters.product_code)
    if filters.strategy:
        queryset = queryset.filter(strategy=filters.strategy)
    if filters.arm:
        queryset = queryset.filter(arm=filters.arm)
    if filters.bucket and "bucket_start" in {f.name for f in queryset.model._meta.fields}:
        queryset = queryset.filter(bucket_start=filters.bucket)
    return queryset


def _fen(value: Decimal | None) -> int:
    return int((value or Decimal(0)) * 100)


def _frame(rows: list[dict[str, Any]], money: tuple[str, ...]) -> pl.DataFrame:
    for row in rows:
        for name in money:
            row[f"{name}_fen"] = _fen(row.pop(name))
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def _positive(name: str) -> Sum:
    return Sum(CaseWhen(When(**{f"{name}__gt": 0}, then=1), default=0, output_field=IntegerField()))


MEASURE_SUMS = {name: Sum(name) for name in metrics.COUNT_COLUMNS}


def summary_frame(*, scope: Scope, filters: Filters, months: list[dt.date], by: tuple[str, ...] = ()) -> pl.DataFrame:
    """Month summaries grouped by month, bucket movement and `by`, for the person's scope and filters."""
    group = ("month", "bucket_start", "bucket_end", "entry_month_is_month", *by)
    if _collector_level(scope, filters) is not None or "collector_id" in by:
        queryset = _scoped(CaseMonthFact.objects.filter(month__in=months), scope, filters, has_collector=True)
        annotations: dict[str, Any] = {
            "cases": Count("case_id"),
            "entry_overdue": Sum("entry_overdue"),
            "noticed_cases": _positive("notices"),
            "visited_cases": _positive("visits"),
            "promised_cases": _positive("promises_made"),
            "paid_cases": _positive("collected"),
            **MEASURE_SUMS,
            "collected": Sum("collected"),
        }
        group = tuple(name for name in group if name != "entry_month_is_month")
        rows = list(queryset.values(*group).annotate(**annotations).order_by())
    else:
        queryset = _scoped(MonthCube.objects.filter(month__in=months), scope, filters, has_collector=False)
        annotations = {
            "cases": Sum("cases"),
            "entry_overdue": Sum("entry_overdue"),
            **{name: Sum(name) for name in ("noticed_cases", "visited_cases", "promised_cases", "paid_cases")},
            **MEASURE_SUMS,
            "collected": Sum("collected"),
        }
        group = tuple(name for name in group if name != "entry_month_is_month")
        rows = list(queryset.values(*group).annotate(**annotations).order_by())
    return _frame(rows, ("entry_overdue", "collected"))


def entry_frame(*, scope: Scope, filters: Filters, since: dt.date, until: dt.date) -> pl.DataFrame:
    if _collector_level(scope, filters) is not None:
        queryset = _scoped(
            CaseMonthFact.objects.filter(month__gte=since, month__lte=until, entry_month__gte=since),
            scope, filters, has_collector=True,
        )
    else:
        queryset = _scoped(
            EntryCube.objects.filter(month__gte=since, month__lte=until, entry_month__gte=since),
            scope, filters, has_collector=False,
        )
    rows = list(
        queryset.values("entry_month", "month")
        .annotate(entry_overdue=Sum("entry_overdue"), collected=Sum("collected"))
        .order_by()
    )
    return _frame(rows, ("entry_overdue", "collected"))


def productivity_rows(*, scope: Scope, filters: Filters) -> list[dict[str, Any]]:
    queryset = CollectorMonth.objects.filter(month=filters.month)
    if scope.team_ids is not None:
        queryset = queryset.filter(team_id__in=scope.team_ids)
    collector_id = _collector_level(scope, filters)
    if collector_id is not None:
        queryset = queryset.filter(collector_id=collector_id)
    if filters.team_id:
        queryset = queryset.filter(team_id=filters.team_id)
    if filters.branch_code:
        queryset = queryset.filter(branch_code=filters.branch_code)
    rows = list(
        queryset.values("collector_id")
        .annotate(cases=Sum("cases"), collected=Sum("collected"), **MEASURE_SUMS)
        .order_by("-collected", "collector_id")[:200]
    )
    names = {
        c.pk: c for c in Collector.objects.filter(pk__in=[r["collector_id"] for r in rows]).select_related("user", "team")
    }
    for row in rows:
        collector = names.get(row["collector_id"])
        row["name"] = collector.display_name if collector else str(row["collector_id"])
        row["badge"] = collector.badge_number if collector else ""
        row["team"] = collector.team.name if collector else ""
        row["visit_contact_rate"] = metrics.Ratio(row["visits_met"], row["visits"]).value
        row["rpc_rate"] = metrics.Ratio(row["right_party"], row["contacts"]).value
        row["kept_rate"] = metrics.Ratio(row["promises_kept"], row["promises_due"]).value
        row["collected_per_visit"] = (row["collected"] / row["visits"]).quantize(Decimal("0.01")) if row["visits"] else None
    return rows


@dataclass(frozen=True)
class MapPoint:
    latitude: float
    longitude: float
    result: str
    met: bool
    case_id: int


def map_points(*, scope: Scope, filters: Filters) -> list[MapPoint]:
    """Visits carried out in the month, where they were, and what came of them."""
    start, end = facts.day_start_utc(filters.month), facts.day_end_utc(metrics.month_end(filters.month))
    visits = Visit.objects.filter(
        status=VisitStatus.COMPLETED, checked_out_at__gte=start, checked_out_at__lt=end, latitude__isnull=False
    )
    if scope.team_ids is not None:
        visits = visits.filter(collector__team_id__in=scope.team_ids)
    collector_id = _collector_level(scope, filters)
    if collector_id is not None:
        visits = visits.filter(Q(collector_id=collector_id) | Q(partner_id=collector_id))
    if filters.team_id:
        visits = visits.filter(collector__team_id=filters.team_id)
    if filters.branch_code:
        visits = visits.filter(case__branch_code=filters.branch_code)
    rows = visits.order_by("-checked_out_at").values_list("latitude", "longitude", "result", "person_met", "case_id")
    return [
        MapPoint(float(lat), float(lon), result or "", met == "borrower", case_id)
        for lat, lon, result, met, case_id in rows[:MAP_POINTS]
    ]


@dataclass
class Dashboard:
    scope: Scope
    filters: Filters
    as_of: dt.date | None
    months: list[dt.date]
    current: pl.DataFrame
    kpis: dict[str, metrics.Ratio]
    totals: dict[str, int]
    matrix: pl.DataFrame
    flows: pl.DataFrame
    funnel: list[tuple[str, int]]
    trend: list[dict[str, Any]]
    recovery: pl.DataFrame
    slices: pl.DataFrame
    productivity: list[dict[str, Any]] = field(default_factory=list)
    points: list[MapPoint] = field(default_factory=list)
    by_month: dict[dt.date, dict[str, int]] = field(default_factory=dict)


def available_months() -> list[dt.date]:
    return facts.months_built()


def dashboard(*, user: User, filters: Filters, with_map: bool = True) -> Dashboard:
    require_dashboards(user)
    return dashboard_for(scope=scope_for(user), filters=filters, with_map=with_map)


def dashboard_for(*, scope: Scope, filters: Filters, with_map: bool = True) -> Dashboard:
    """The figures of one month and the months before it, for a scope (the monthly report's is the bank)."""
    buckets = facts.bucket_codes()
    costs = facts.unit_costs()
    months = [filters.month]
    for _index in range(TREND_MONTHS - 1):
        months.append(metrics.previous_month(months[-1]))
    months.reverse()
    slice_column = "bucket_start" if filters.slice_by == "bucket" else filters.slice_by
    frame = summary_frame(scope=scope, filters=filters, months=months, by=(slice_column,) if slice_column != "bucket_start" else ())
    empty = frame.height == 0
    current = frame.filter(pl.col("month") == filters.month) if not empty else frame
    trend = [row for row in metrics.rates_by_month(frame, buckets) if row["month"] in months]
    by_month = {row["month"]: row.pop("totals") for row in trend}
    recovery = entry_frame(scope=scope, filters=filters, since=months[0], until=filters.month)
    return Dashboard(
        scope=scope,
        filters=filters,
        as_of=facts.latest_as_of(filters.month),
        months=months,
        current=current,
        kpis=metrics.kpis(current, buckets, costs) if current.height else {},
        totals=metrics.totals(current) if current.height else {},
        matrix=metrics.roll_rate_matrix(current, buckets) if current.height else pl.DataFrame(),
        flows=metrics.flow_rates(current, buckets) if current.height else pl.DataFrame(),
        funnel=metrics.funnel(current) if current.height else [],
        trend=trend,
        recovery=metrics.recovery_by_entry_month(recovery) if recovery.height else metrics.recovery_by_entry_month(pl.DataFrame()),
        slices=metrics.slice_summary(current, filters.slice_by, buckets) if current.height else pl.DataFrame(),
        productivity=productivity_rows(scope=scope, filters=filters) if scope.kind != "collector" else [],
        points=map_points(scope=scope, filters=filters) if with_map else [],
        by_month=by_month,
    )


# --- Drill-down -----------------------------------------------------------------------------------------

STAGES = {
    "notice": "notices__gt",
    "visit": "visits__gt",
    "met": "visits_met__gt",
    "promise": "promises_made__gt",
    "kept": "promises_kept__gt",
    "payment": "collected__gt",
    "contact": "contacts__gt",
    "right_party": "right_party__gt",
    "complaint": "complaints__gt",
    "refused": "refused__gt",
}


def drill_cases(
    *, user: User, filters: Filters, bucket_start: str = "", bucket_end: str = "", stage: str = "",
    entry_month: dt.date | None = None,
) -> QuerySet[CaseMonthFact]:
    """The case months behind a figure: exactly the cases it counts, within the person's scope."""
    require_dashboards(user)
    scope = scope_for(user)
    rows = _scoped(CaseMonthFact.objects.filter(month=filters.month), scope, filters, has_collector=True)
    if bucket_start:
        rows = rows.filter(bucket_start=bucket_start)
    if bucket_end:
        rows = rows.filter(bucket_end=bucket_end)
    if stage in STAGES:
        rows = rows.filter(**{STAGES[stage]: 0})
    if entry_month is not None:
        rows = rows.filter(entry_month=entry_month)
    return rows.order_by("case_id")


def cases_for(rows: list[CaseMonthFact]) -> dict[int, Case]:
    return {case.pk: case for case in Case.objects.filter(pk__in=[row.case_id for row in rows]).select_related("borrower")}


def team_names(ids: list[int]) -> dict[int, str]:
    return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))


COLLECTOR_CHOICES = 200


def filter_choices(*, user: User, team_id: int | None = None) -> dict[str, list[tuple[str, str]]]:
    """The values each filter offers. Collectors are offered within a team (the chosen one, or the
    person's own), so the list stays short in a bank with thousands of collectors."""
    scope = scope_for(user)
    teams = Team.objects.all()
    if scope.team_ids is not None:
        teams = teams.filter(pk__in=scope.team_ids)
    month = MonthCube.objects.order_by("-month").values_list("month", flat=True).first()
    cube = MonthCube.objects.filter(month=month) if month else MonthCube.objects.none()
    collectors = Collector.objects.select_related("user").order_by("badge_number")
    if scope.kind == "collector":
        collectors = collectors.filter(pk=scope.collector_id)
    elif team_id is not None:
        collectors = collectors.filter(team_id=team_id)
        if scope.team_ids is not None:
            collectors = collectors.filter(team_id__in=scope.team_ids)
    elif scope.team_ids is not None:
        collectors = collectors.filter(team_id__in=scope.team_ids)
    else:
        collectors = collectors.none()
    def distinct(name: str) -> list[str]:
        return sorted(code for code in cube.order_by().values_list(name, flat=True).distinct() if code)

    return {
        "branch": [(code, code) for code in distinct("branch_code")],
        "team": [(str(team.pk), team.name) for team in teams],
        "collector": [(str(c.pk), f"{c.display_name} ({c.badge_number})") for c in collectors[:COLLECTOR_CHOICES]],
        "product": [(code, code) for code in distinct("product_code")],
        "strategy": [(code, code) for code in distinct("strategy")],
        "arm": [(code, code) for code in distinct("arm")],
        "bucket": [(code, code) for code in facts.bucket_codes()],
    }


def monthly_reports() -> QuerySet[MonthlyReport]:
    return MonthlyReport.objects.defer("pdf").order_by("-month", "language")
