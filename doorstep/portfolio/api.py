"""The portfolio's JSON API: cases (scoped exactly as the staff pages are), reveal, and snapshot uploads.

Thin on purpose: each operation parses its input schema, calls one selector or service, and shapes the answer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import field_validator, model_validator

from doorstep.collectors.models import CaseAssignment, Collector
from doorstep.core.api_types import MoneyText
from doorstep.core.masking import mask_national_id, mask_phone
from doorstep.portfolio import selectors, services
from doorstep.portfolio.models import Case, CaseStatus, Loan, SnapshotImport
from doorstep.portfolio.uploads import snapshot_upload

router = Router(tags=["portfolio"])

IMPORT_PERMISSION = "portfolio.import_snapshot"
MAX_PAGE_SIZE = 200


class ErrorOut(Schema):
    detail: Any


# --- cases -------------------------------------------------------------------------------------------------


class CaseListQuery(Schema):
    bucket: str | None = Field(None, description="Bucket code, e.g. M1, M2, M3, M4+")
    dpd_min: int | None = Field(None, ge=0, description="Days past due, at least")
    dpd_max: int | None = Field(None, ge=0, description="Days past due, at most")
    branch: str | None = Field(None, max_length=32)
    status: CaseStatus | None = None
    collector: str | None = Field(None, max_length=32, description="Badge number of the assigned collector")
    sort: str = Field(selectors.DEFAULT_CASE_SORT, description="One of " + ", ".join(selectors.CASE_SORTS))
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0)

    @field_validator("bucket")
    @classmethod
    def known_bucket(cls, value: str | None) -> str | None:
        codes = [code for code, _first, _last in settings.DOORSTEP_BUCKETS]
        if value is not None and value not in codes:
            raise ValueError("unknown bucket; use one of " + ", ".join(codes))
        return value

    @field_validator("sort")
    @classmethod
    def known_sort(cls, value: str) -> str:
        if value not in selectors.CASE_SORTS:
            raise ValueError("unknown sort; use one of " + ", ".join(selectors.CASE_SORTS))
        return value

    @model_validator(mode="after")
    def ordered_range(self) -> CaseListQuery:
        if self.dpd_min is not None and self.dpd_max is not None and self.dpd_min > self.dpd_max:
            raise ValueError("dpd_min is greater than dpd_max")
        return self


class AssignmentOut(Schema):
    team: str
    collector_badge: str | None
    collector_name: str | None
    assigned_at: dt.datetime


class CaseSummaryOut(Schema):
    id: int
    status: CaseStatus
    borrower_name: str
    branch: str
    days_past_due: int
    bucket: str
    overdue_total: MoneyText
    outstanding_principal: MoneyText
    snapshot_date: dt.date
    next_action_on: dt.date | None
    assignment: AssignmentOut | None


class CasePageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[CaseSummaryOut]


class BorrowerOut(Schema):
    id: int
    customer_id: str
    name: str
    national_id_masked: str
    phone_masked: str
    address: str
    is_vulnerable: bool
    is_deceased: bool
    has_dispute: bool
    do_not_visit: bool


class LoanOut(Schema):
    loan_id: str
    product: str
    branch: str
    currency: str
    principal: MoneyText
    outstanding_principal: MoneyText
    overdue_principal: MoneyText
    overdue_interest: MoneyText
    penalty_interest: MoneyText
    overdue_amount: MoneyText
    first_unpaid_due_date: dt.date | None
    days_past_due: int
    bucket: str
    classification: str
    snapshot_date: dt.date


class CaseDetailOut(Schema):
    id: int
    status: CaseStatus
    opened_on: dt.date
    closed_on: dt.date | None
    snapshot_date: dt.date
    branch: str
    days_past_due: int
    bucket: str
    outstanding_principal: MoneyText
    overdue_principal: MoneyText
    overdue_interest: MoneyText
    penalty_interest: MoneyText
    overdue_total: MoneyText
    next_action: str
    next_action_on: dt.date | None
    borrower: BorrowerOut
    loans: list[LoanOut]
    assignment: AssignmentOut | None


class RevealIn(Schema):
    field: Literal["national_id", "phone"]


class RevealOut(Schema):
    field: str
    value: str


def _assignment(assignment: CaseAssignment | None) -> AssignmentOut | None:
    if assignment is None:
        return None
    collector = assignment.collector
    return AssignmentOut(
        team=assignment.team.name,
        collector_badge=collector.badge_number if collector else None,
        collector_name=collector.display_name if collector else None,
        assigned_at=assignment.assigned_at,
    )


def _current_assignments() -> Prefetch:
    return Prefetch(
        "assignments",
        queryset=CaseAssignment.objects.filter(ended_at__isnull=True).select_related(
            "team", "collector__user"
        ),
        to_attr="current_assignments",
    )


def _case_summary(case: Case) -> CaseSummaryOut:
    current = case.current_assignments  # type: ignore[attr-defined]
    return CaseSummaryOut(
        id=case.pk,
        status=case.status,
        borrower_name=case.borrower.name,
        branch=case.branch_code,
        days_past_due=case.days_past_due,
        bucket=case.bucket,
        overdue_total=case.overdue_total,
        outstanding_principal=case.outstanding_principal,
        snapshot_date=case.snapshot_date,
        next_action_on=case.next_action_on,
        assignment=_assignment(current[0] if current else None),
    )


def _loan(loan: Loan) -> LoanOut:
    return LoanOut(
        loan_id=loan.loan_id,
        product=loan.product_code,
        branch=loan.branch_code,
        currency=loan.currency,
        principal=loan.principal,
        outstanding_principal=loan.outstanding_principal,
        overdue_principal=loan.overdue_principal,
        overdue_interest=loan.overdue_interest,
        penalty_interest=loan.penalty_interest,
        overdue_amount=loan.overdue_amount,
        first_unpaid_due_date=loan.first_unpaid_due_date,
        days_past_due=loan.days_past_due,
        bucket=loan.bucket,
        classification=loan.classification,
        snapshot_date=loan.snapshot_date,
    )


@router.get("/cases", response=CasePageOut, summary="List the cases you may see")
def case_list(request: HttpRequest, query: Query[CaseListQuery]) -> CasePageOut:
    collector_id = None
    if query.collector:
        # An unknown badge matches no case rather than every case.
        collector_id = (
            Collector.objects.filter(badge_number=query.collector).values_list("pk", flat=True).first()
        )
        collector_id = collector_id if collector_id is not None else -1
    filters = selectors.CaseFilters(
        bucket=query.bucket or "",
        dpd_min=query.dpd_min,
        dpd_max=query.dpd_max,
        branch_code=query.branch or "",
        collector_id=collector_id,
        status=query.status.value if query.status else "",
    )
    cases = selectors.case_search(user=request.auth, filters=filters, sort=query.sort)  # type: ignore[attr-defined]
    total = cases.count()
    window = cases.select_related("borrower").prefetch_related(_current_assignments())
    rows = window[query.offset : query.offset + query.limit]
    return CasePageOut(
        total=total, limit=query.limit, offset=query.offset, items=[_case_summary(case) for case in rows]
    )


@router.get("/cases/{int:case_id}", response={200: CaseDetailOut, 404: ErrorOut}, summary="One case")
def case_detail(request: HttpRequest, case_id: int) -> CaseDetailOut:
    case = selectors.case_get(user=request.auth, case_id=case_id)  # type: ignore[attr-defined]
    borrower = case.borrower
    current = selectors.case_assignment_history(case).filter(ended_at__isnull=True).first()
    return CaseDetailOut(
        id=case.pk,
        status=case.status,
        opened_on=case.opened_on,
        closed_on=case.closed_on,
        snapshot_date=case.snapshot_date,
        branch=case.branch_code,
        days_past_due=case.days_past_due,
        bucket=case.bucket,
        outstanding_principal=case.outstanding_principal,
        overdue_principal=case.overdue_principal,
        overdue_interest=case.overdue_interest,
        penalty_interest=case.penalty_interest,
        overdue_total=case.overdue_total,
        next_action=case.next_action,
        next_action_on=case.next_action_on,
        borrower=BorrowerOut(
            id=borrower.pk,
            customer_id=borrower.customer_id,
            name=borrower.name,
            national_id_masked=borrower.national_id_masked,
            phone_masked=borrower.phone_masked,
            address=borrower.address,
            is_vulnerable=borrower.is_vulnerable,
            is_deceased=borrower.is_deceased,
            has_dispute=borrower.has_dispute,
            do_not_visit=borrower.do_not_visit,
        ),
        loans=[_loan(loan) for loan in selectors.case_loans(case)],
        assignment=_assignment(current),
    )


@router.post(
    "/cases/{int:case_id}/reveal",
    response={200: RevealOut, 403: ErrorOut, 404: ErrorOut},
    summary="Reveal a borrower's full ID number or phone (audited)",
)
def case_reveal(request: HttpRequest, case_id: int, payload: RevealIn, response: HttpResponse) -> RevealOut:
    value = services.borrower_reveal(actor=request.auth, case_id=case_id, field=payload.field)  # type: ignore[attr-defined]
    add_never_cache_headers(response)
    return RevealOut(field=payload.field, value=value)


# --- snapshots ---------------------------------------------------------------------------------------------


class SnapshotQueuedOut(Schema):
    task_id: str
    status: str


class SnapshotTaskOut(Schema):
    task_id: str
    status: TaskResultStatus
    enqueued_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: dict[str, Any] | None = Field(
        None,
        description="The import summary, or {errors: [{line, column, value, reason}], total} for a bad file",
    )
    failure: str | None = Field(None, description="The kind of error that stopped the task, if it failed")


class SnapshotImportOut(Schema):
    id: int
    snapshot_date: dt.date
    file_name: str
    file_sha256: str
    rows: int
    borrowers_created: int
    borrowers_updated: int
    loans_created: int
    loans_updated: int
    loans_cleared: int
    cases_opened: int
    cases_cured: int
    cases_updated: int
    warnings: list[Any]
    started_at: dt.datetime
    finished_at: dt.datetime
    imported_by: str


class SnapshotImportPageOut(Schema):
    total: int
    limit: int
    offset: int
    items: list[SnapshotImportOut]


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0)


PERSONAL_COLUMNS = {"national_id": mask_national_id, "phone": mask_phone}


def _masked_report(report: dict[str, Any]) -> dict[str, Any]:
    """An error report quotes cells of the file; ID numbers and phones in it are shown masked, as on screen."""
    errors = report.get("errors")
    if not isinstance(errors, list):
        return report
    masked = []
    for row in errors:
        mask = PERSONAL_COLUMNS.get(str(row.get("column", ""))) if isinstance(row, dict) else None
        masked.append({**row, "value": mask(str(row["value"]))} if mask and row.get("value") else row)
    return {**report, "errors": masked}


def _require_import_permission(user: AbstractBaseUser) -> None:
    if not user.has_perm(IMPORT_PERMISSION):  # type: ignore[attr-defined]
        raise PermissionDenied(_("You may not import snapshots."))


@router.post(
    "/snapshots",
    response={202: SnapshotQueuedOut, 403: ErrorOut, 422: ErrorOut},
    summary="Upload an overdue-loan snapshot (CSV or Parquet) and queue its import",
)
def snapshot_upload_queue(
    request: HttpRequest,
    file: File[UploadedFile],
    snapshot_date: Form[dt.date | None] = None,
    encoding: Form[Literal["utf-8", "gbk", "gb18030"] | None] = None,
) -> Status[SnapshotQueuedOut]:
    # Permission first: an answer about the file must not come before "you may not".
    _require_import_permission(request.auth)  # type: ignore[attr-defined]
    task_id = snapshot_upload(actor=request.auth, upload=file, snapshot_date=snapshot_date, encoding=encoding)  # type: ignore[attr-defined]
    return Status(202, SnapshotQueuedOut(task_id=task_id, status=TaskResultStatus.READY))


@router.get(
    "/snapshots/tasks/{task_id}",
    response={200: SnapshotTaskOut, 403: ErrorOut, 404: ErrorOut},
    summary="Where a queued snapshot import stands",
)
def snapshot_task(request: HttpRequest, task_id: str, response: HttpResponse) -> SnapshotTaskOut:
    user = request.auth  # type: ignore[attr-defined]
    _require_import_permission(user)
    from doorstep.portfolio.tasks import snapshot_import_task

    try:
        result = snapshot_import_task.get_result(task_id)
    except (TaskResultDoesNotExist, TaskResultMismatch, NotImplementedError, ValueError) as error:
        raise Http404("no such snapshot task") from error
    # An import's report can quote cells of the file; it belongs to whoever sent the file.
    if result.kwargs.get("actor_id") != user.pk:
        raise Http404("no such snapshot task")
    outcome = None
    failure = None
    if result.status == TaskResultStatus.SUCCESSFUL:
        value = result.return_value
        outcome = _masked_report(value) if isinstance(value, dict) else {"value": value}
    elif result.status == TaskResultStatus.FAILED and result.errors:
        failure = result.errors[-1].exception_class_path.rsplit(".", 1)[-1]
    add_never_cache_headers(response)
    return SnapshotTaskOut(
        task_id=str(result.id),
        status=result.status,
        enqueued_at=result.enqueued_at,
        started_at=result.started_at,
        finished_at=result.finished_at,
        result=outcome,
        failure=failure,
    )


@router.get(
    "/snapshots",
    response={200: SnapshotImportPageOut, 403: ErrorOut},
    summary="Past snapshot imports, newest first",
)
def snapshot_import_list(request: HttpRequest, page: Query[PageQuery]) -> SnapshotImportPageOut:
    _require_import_permission(request.auth)  # type: ignore[attr-defined]
    imports = SnapshotImport.objects.select_related("imported_by").order_by("-snapshot_date", "-pk")
    rows = imports[page.offset : page.offset + page.limit]
    return SnapshotImportPageOut(
        total=imports.count(),
        limit=page.limit,
        offset=page.offset,
        items=[
            SnapshotImportOut(
                id=row.pk,
                snapshot_date=row.snapshot_date,
                file_name=row.file_name,
                file_sha256=row.file_sha256,
                rows=row.rows,
                borrowers_created=row.borrowers_created,
                borrowers_updated=row.borrowers_updated,
                loans_created=row.loans_created,
                loans_updated=row.loans_updated,
                loans_cleared=row.loans_cleared,
                cases_opened=row.cases_opened,
                cases_cured=row.cases_cured,
                cases_updated=row.cases_updated,
                warnings=row.warnings,
                started_at=row.started_at,
                finished_at=row.finished_at,
                imported_by=row.imported_by_label,
            )
            for row in rows
        ],
    )
