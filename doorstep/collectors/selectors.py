"""Reads about teams, collectors and who works which case."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from doorstep.collectors.demo_allocation import Area, CaseSite, CollectorBase
from doorstep.collectors.models import CaseAssignment, Collector, Team
from doorstep.portfolio.models import ACTIVE_CASE_STATUSES, Case


def cases_without_team() -> QuerySet[Case]:
    """Cases in collection that nobody works yet (no current assignment)."""
    current = CaseAssignment.objects.filter(case=OuterRef("pk"), ended_at__isnull=True)
    return Case.objects.filter(status__in=ACTIVE_CASE_STATUSES).filter(~Exists(current))


def case_sites_to_allocate(*, team_by_branch: dict[str, int]) -> list[CaseSite]:
    """The unassigned cases of the branches that have a team, with the borrower's position."""
    rows = (
        cases_without_team()
        .filter(branch_code__in=list(team_by_branch))
        .values_list("pk", "branch_code", "borrower__latitude", "borrower__longitude")
        .order_by("pk")
    )
    return [
        CaseSite(
            case_id=pk,
            team_id=team_by_branch[branch_code],
            latitude=float(latitude) if latitude is not None else None,
            longitude=float(longitude) if longitude is not None else None,
        )
        for pk, branch_code, latitude, longitude in rows
    ]


def collector_bases(*, team_ids: list[int]) -> list[CollectorBase]:
    """Active collectors of these teams with a home position, their territories and current case load."""
    collectors = (
        Collector.objects.filter(team_id__in=team_ids, is_active=True)
        .exclude(home_latitude__isnull=True)
        .exclude(home_longitude__isnull=True)
        .annotate(load=Count("assignments", filter=Q(assignments__ended_at__isnull=True)))
        .prefetch_related("territories")
        .order_by("pk")
    )
    return [
        CollectorBase(
            collector_id=collector.pk,
            team_id=collector.team_id,
            home_latitude=float(collector.home_latitude),  # type: ignore[arg-type]
            home_longitude=float(collector.home_longitude),  # type: ignore[arg-type]
            areas=tuple(
                Area(float(t.centre_latitude), float(t.centre_longitude), float(t.radius_km))
                for t in collector.territories.all()
                if not t.polygon
            ),
            current_load=collector.load,
        )
        for collector in collectors
    ]


def team_case_counts() -> dict[int, int]:
    """Current cases per team."""
    rows = (
        CaseAssignment.objects.filter(ended_at__isnull=True)
        .values("team_id")
        .annotate(cases=Count("pk"))
        .values_list("team_id", "cases")
    )
    return dict(rows)


def collector_case_counts(*, team: Team) -> dict[int, int]:
    """Current cases per collector of `team`."""
    rows = (
        CaseAssignment.objects.filter(ended_at__isnull=True, team=team, collector__isnull=False)
        .values("collector_id")
        .annotate(cases=Count("pk"))
        .values_list("collector_id", "cases")
    )
    return dict(rows)
