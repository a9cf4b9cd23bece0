"""Reads of the portfolio, always scoped to the person asking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import BigIntegerField, Count, DecimalField, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Cast, Round
from django.http import Http404

from doorstep.collectors.models import CaseAssignment, Collector, Team
from doorstep.core.models import AuditEvent
from doorstep.core.money import ZERO, from_fen
from doorstep.core.roles import Role, sees_whole_portfolio, user_roles
from doorstep.portfolio.models import Borrower, BucketMove, Case, CaseStatusChange, Loan, SnapshotImport

User = AbstractBaseUser | AnonymousUser


def case_visibility(user: User) -> Q | None:
    """The filter that gives exactly the cases `user` may see; None means every case."""
    if sees_whole_portfolio(user):
        return None
    roles = user_roles(user)
    visible = Q(pk__in=[])
    if Role.SUPERVISOR in roles:
        visible |= Q(assignments__ended_at__isnull=True, assignments__team__supervisor=user)
    if Role.COLLECTOR in roles:
        visible |= Q(assignments__ended_at__isnull=True, assignments__collector__user=user)
    return visible


def case_list(*, user: User) -> QuerySet[Case]:
    cases = Case.objects.all()
    visible = case_visibility(user)
    if visible is not None:
        if not user_roles(user) & {Role.SUPERVISOR, Role.COLLECTOR}:
            return cases.none()
        cases = cases.filter(pk__in=Case.objects.filter(visible).values("pk"))
    return cases


def case_get(*, user: User, case_id: int) -> Case:
    """The case, if `user` may see it; otherwise 404, the same answer as for a case that does not exist."""
    case = case_list(user=user).select_related("borrower").filter(pk=case_id).first()
    if case is None:
        raise Http404("no such case")
    return case


# --- Reads behind the staff pages. Each starts from `case_list`/`case_get`, so the scoping above holds. ---

CASES_PER_PAGE = 50
# Up to this many matching cases, a page is found by sorting the matches rather than by walking an index.
INDEX_ORDER_ABOVE = 200_000

# Sort keys offered on the case list, each with a unique tie-breaker so pages never overlap.
CASE_SORTS: dict[str, tuple[str, ...]] = {
    "-dpd": ("-days_past_due", "-pk"),
    "dpd": ("days_past_due", "pk"),
    "-overdue": ("-overdue_total", "-pk"),
    "overdue": ("overdue_total", "pk"),
    "-opened": ("-opened_on", "-pk"),
    "opened": ("opened_on", "pk"),
    "name": ("borrower__name", "pk"),
    "-name": ("-borrower__name", "-pk"),
}
DEFAULT_CASE_SORT = "-dpd"


@dataclass(frozen=True)
class CaseFilters:
    """What a user narrowed the case list to. Empty values mean "any"."""

    bucket: str = ""
    dpd_min: int | None = None
    dpd_max: int | None = None
    branch_code: str = ""
    collector_id: int | None = None
    status: str = ""
    query: str = ""


@dataclass(frozen=True)
class BucketTotal:
    bucket: str
    cases: int
    overdue_total: Decimal


@dataclass(frozen=True)
class CaseListSummary:
    buckets: list[BucketTotal]
    cases: int
    overdue_total: Decimal


@dataclass(frozen=True)
class CasePage:
    cases: list[Case]
    number: int
    pages: int
    total: int
    first_index: int
    last_index: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def previous_number(self) -> int:
        return self.number - 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    def nearby(self, width: int = 2) -> list[int | None]:
        """Page numbers to link: the first, the last and a window around this one; None marks a gap."""
        wanted = {1, self.pages, *range(self.number - width, self.number + width + 1)}
        numbers = sorted(n for n in wanted if 1 <= n <= self.pages)
        shown: list[int | None] = []
        for number in numbers:
            if shown and shown[-1] is not None and number - shown[-1] > 1:  # type: ignore[operator]
                shown.append(None)
            shown.append(number)
        return shown


def case_search(*, user: User, filters: CaseFilters, sort: str = DEFAULT_CASE_SORT) -> QuerySet[Case]:
    """The cases `user` may see, narrowed by `filters`, in the order `sort` names.

    Every filter is on an indexed column or an indexed unique key, so the list stays quick on a
    portfolio of millions; the free-text name match is the one that reads the borrower table.
    """
    cases = case_list(user=user)
    if filters.bucket:
        cases = cases.filter(bucket=filters.bucket)
    if filters.dpd_min is not None:
        cases = cases.filter(days_past_due__gte=filters.dpd_min)
    if filters.dpd_max is not None:
        cases = cases.filter(days_past_due__lte=filters.dpd_max)
    if filters.branch_code:
        cases = cases.filter(branch_code=filters.branch_code)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.collector_id is not None:
        cases = cases.filter(assignments__ended_at__isnull=True, assignments__collector_id=filters.collector_id)
    query = filters.query.strip()
    if query:
        cases = cases.filter(_search_condition(query))
    return cases.order_by(*CASE_SORTS.get(sort, CASE_SORTS[DEFAULT_CASE_SORT]))


IDENTIFIER = re.compile(r"^[A-Za-z0-9_.\-/]+$")


def _search_condition(query: str) -> Q:
    """Cases whose borrower's customer number or one of whose loan numbers is `query`, or whose
    borrower's name contains it.

    Numbers are looked up first, each through its unique index: a number found is the answer, and
    the name scan (the one read of the whole borrower table) runs only for text that is not one.
    """
    if IDENTIFIER.match(query):
        by_customer = list(Case.objects.filter(borrower__customer_id=query).values_list("pk", flat=True))
        by_loan = list(
            Loan.objects.filter(loan_id=query, case__isnull=False).values_list("case_id", flat=True)
        )
        if by_customer or by_loan:
            return Q(pk__in={*by_customer, *by_loan})
    return Q(borrower__in=Borrower.objects.filter(name__icontains=query).values("pk"))


def case_summary(cases: QuerySet[Case]) -> CaseListSummary:
    """Count and overdue amount per bucket of `cases`, in one grouped query.

    Amounts are summed in fen and exactly: PostgreSQL adds `numeric` exactly; SQLite would add the
    decimals as binary floating point, so there each is first made a whole number of fen.
    """
    if connection.vendor == "postgresql":
        overdue_fen = Sum(F("overdue_total") * 100, output_field=DecimalField(max_digits=24, decimal_places=2))
    else:
        overdue_fen = Sum(Cast(Round(F("overdue_total") * 100), BigIntegerField()))
    rows = cases.order_by().values("bucket").annotate(cases=Count("pk"), overdue_fen=overdue_fen)
    found = {row["bucket"]: row for row in rows}
    order = [code for code, _first, _last in settings.DOORSTEP_BUCKETS]
    order += sorted(code for code in found if code not in order)
    buckets = [
        BucketTotal(
            bucket=code,
            cases=found[code]["cases"] if code in found else 0,
            overdue_total=from_fen(int(found[code]["overdue_fen"] or 0)) if code in found else ZERO,
        )
        for code in order
    ]
    return CaseListSummary(
        buckets=buckets,
        cases=sum(bucket.cases for bucket in buckets),
        overdue_total=sum((bucket.overdue_total for bucket in buckets), ZERO),
    )


def case_page(cases: QuerySet[Case], *, total: int, number: int, per_page: int = CASES_PER_PAGE) -> CasePage:
    """One page of `cases` with what each row shows, in two queries (no query per row).

    `total` is the size of the whole filtered set, already known from `case_summary`, so the
    list does not count a million rows twice.
    """
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    offset = (number - 1) * per_page
    if total <= INDEX_ORDER_ABOVE:
        # A narrow set (a collector's cases, one bucket, one collector): walking an index in sort
        # order would visit most of the table to find these rows, so sort just them instead. The
        # "+ 0" keeps the planner from choosing the index walk; the order is the same.
        cases = cases.order_by(*(_unindexed(field) for field in cases.query.order_by))
    current = Prefetch(
        "assignments",
        queryset=CaseAssignment.objects.filter(ended_at__isnull=True).select_related("team", "collector__user"),
        to_attr="current_assignments",
    )
    rows = list(cases.select_related("borrower").prefetch_related(current)[offset : offset + per_page])
    return CasePage(
        cases=rows,
        number=number,
        pages=pages,
        total=total,
        first_index=offset + 1 if rows else 0,
        last_index=offset + len(rows),
    )


def _unindexed(field: str) -> Any:
    descending = field.startswith("-")
    name = field.lstrip("-")
    if name in {"days_past_due", "overdue_total"}:
        expression = F(name) + 0
        return expression.desc() if descending else expression.asc()
    return field


def collector_choices(*, user: User) -> QuerySet[Collector]:
    """The collectors `user` may filter the case list by: everyone for the bank-wide roles, a team
    lead's own teams, and a collector only themself."""
    collectors = Collector.objects.select_related("user").order_by("badge_number")
    if sees_whole_portfolio(user):
        return collectors.filter(is_active=True)
    roles = user_roles(user)
    visible = Q(pk__in=[])
    if Role.SUPERVISOR in roles:
        visible |= Q(team__supervisor=user)
    if Role.COLLECTOR in roles:
        visible |= Q(user=user)
    return collectors.filter(visible)


def branch_choices(*, user: User) -> list[str]:
    """Branch codes for the filter: those of the teams the user works with (all teams for bank-wide roles)."""
    teams = Team.objects.all()
    if not sees_whole_portfolio(user):
        teams = teams.filter(Q(supervisor=user) | Q(collectors__user=user))
    return sorted(set(teams.values_list("branch_code", flat=True)))


def case_loans(case: Case) -> QuerySet[Loan]:
    return case.loans.order_by("-days_past_due", "loan_id")


def case_assignment_history(case: Case) -> QuerySet[CaseAssignment]:
    """Every assignment of the case, the current (open) one first."""
    return case.assignments.select_related("team", "collector__user", "assigned_by").order_by(
        F("ended_at").desc(nulls_first=True), "-assigned_at", "-pk"
    )


def case_bucket_history(case: Case) -> QuerySet[BucketMove]:
    return BucketMove.objects.filter(loan__case=case).select_related("loan").order_by("-snapshot_date", "-pk")


def case_status_history(case: Case) -> QuerySet[CaseStatusChange]:
    return case.status_changes.order_by("-at", "-pk")


def case_contact_ledger(case: Case, *, limit: int = 200) -> list[Any]:
    """The case's contact attempts, newest first, refused ones included."""
    return list(case.contacts.select_related("loan").order_by("-started_at", "-pk")[:limit])


def case_audit_trail(case: Case, *, limit: int = 200) -> list[AuditEvent]:
    """Audit entries about the case itself or its borrower, newest first."""
    return list(
        AuditEvent.objects.filter(
            Q(object_type=Case._meta.label_lower, object_id=str(case.pk))
            | Q(object_type=Borrower._meta.label_lower, object_id=str(case.borrower_id))
        ).order_by("-at", "-pk")[:limit]
    )


def snapshot_import_list(*, limit: int = 50) -> list[SnapshotImport]:
    """The latest imports, each with `sent_as`: the name the file had when it was uploaded, if it was."""
    imports = list(SnapshotImport.objects.select_related("imported_by").order_by("-started_at", "-pk")[:limit])
    names = snapshot_upload_names([item.file_name for item in imports])
    for item in imports:
        item.sent_as = names.get(item.file_name, "")  # type: ignore[attr-defined]
    return imports


def snapshot_upload_names(stored_names: list[str]) -> dict[str, str]:
    """Uploaded files are kept under random names; the audit entry of each upload holds the original."""
    if not stored_names:
        return {}
    events = AuditEvent.objects.filter(
        action="portfolio.snapshot.queued", data__stored_as__in=[Path(name).name for name in stored_names]
    ).values_list("data", flat=True)
    by_stored = {event.get("stored_as"): event.get("file_name", "") for event in events}
    return {name: by_stored.get(Path(name).name, "") for name in stored_names}


def case_visits(case: Case, limit: int = 20) -> list[Any]:
    """The case's latest field visits, newest first (the case itself is already scoped to the user)."""
    from doorstep.visits.models import Visit

    return list(
        Visit.objects.filter(case=case)
        .select_related("collector__user", "partner__user")
        .order_by("-window_start")[:limit]
    )
