"""Payments over JSON: the same import as the command and the upload page, and a case's payments."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch
from django.utils.cache import add_never_cache_headers
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ValidationError as PydanticError

from doorstep.core.api_types import MoneyText
from doorstep.payments.selectors import payments_since
from doorstep.payments.services import PaymentsRejected, payments_import_rows
from doorstep.payments.tasks import import_summary, rejection_report
from doorstep.payments.uploads import payments_upload
from doorstep.portfolio import selectors as portfolio_selectors

router = Router(tags=["payments"])
IMPORT_PERMISSION = "payments.import_payments"


class ErrorOut(Schema):
    detail: Any


class PaymentIn(Schema):
    txn_id: str = Field(max_length=64)
    loan_id: str = Field(max_length=64)
    amount: str = Field(description='Decimal yuan with at most two places, as text: "1234.50"; negative for a reversal')
    currency: str | None = None
    paid_at: str = Field(description="ISO 8601; without an offset it is in the bank's time zone")
    channel: str = Field(max_length=32)
    reversal_of: str | None = None


class PaymentsIn(Schema):
    payments: list[PaymentIn] = Field(min_length=1, max_length=50_000)


class RejectedOut(Schema):
    ok: bool
    message: str
    total_errors: int
    errors: list[dict[str, Any]]


class ImportOut(Schema):
    ok: bool
    already_imported: bool
    import_id: int | None
    rows: int
    payments_added: int
    reversals_added: int
    reversals_waiting: int
    duplicates_skipped: int
    cases_cured: int
    warnings: list[str]


class QueuedOut(Schema):
    task_id: str
    status: str


class TaskOut(Schema):
    task_id: str
    status: TaskResultStatus
    result: dict[str, Any] | None = None


class PaymentOut(Schema):
    txn_id: str
    loan_id: str
    amount: MoneyText
    currency: str
    paid_at: dt.datetime
    channel: str
    state: str
    reversal_of: str


def _importer(request: HttpRequest) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied("You may not import payments.")
    return user


@router.post(
    "/payments",
    response={200: ImportOut, 403: ErrorOut, 422: RejectedOut},
    summary="Import payments sent as JSON, at once; every row is checked and nothing is written if one is bad",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": PaymentsIn.model_json_schema()}}}},
)
def payments_post(request: HttpRequest) -> Any:
    user = _importer(request)
    try:
        payload = PaymentsIn.model_validate_json(request.body or b"{}")
    except PydanticError as error:
        raise ValidationError([f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()]) from error
    try:
        result = payments_import_rows(actor=user, rows=[row.dict() for row in payload.payments])
    except PaymentsRejected as rejected:
        return Status(422, rejection_report(rejected))
    return import_summary(result)


@router.post(
    "/payments/files",
    response={202: QueuedOut, 403: ErrorOut, 422: ErrorOut},
    summary="Upload a payments file (CSV or Parquet) and queue its import",
)
def payments_file(
    request: HttpRequest,
    file: File[UploadedFile],
    encoding: Form[Literal["utf-8", "gbk", "gb18030"] | None] = None,
) -> Status[QueuedOut]:
    user = _importer(request)
    task_id = payments_upload(actor=user, upload=file, encoding=encoding)
    return Status(202, QueuedOut(task_id=task_id, status=TaskResultStatus.READY))


@router.get("/payments/files/tasks/{task_id}", response={200: TaskOut, 403: ErrorOut, 404: ErrorOut},
            summary="Where a queued payments import stands")
def payments_task(request: HttpRequest, task_id: str, response: HttpResponse) -> TaskOut:
    user = _importer(request)
    from doorstep.payments.tasks import payments_import_task

    try:
        result = payments_import_task.get_result(task_id)
    except (TaskResultDoesNotExist, TaskResultMismatch, NotImplementedError, ValueError) as error:
        raise Http404("no such task") from error
    if result.kwargs.get("actor_id") != user.pk:
        raise Http404("no such task")
    add_never_cache_headers(response)
    value = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None
    return TaskOut(task_id=str(result.id), status=result.status, result=value if isinstance(value, dict) else None)


@router.get("/cases/{int:case_id}/payments", response={200: list[PaymentOut], 404: ErrorOut},
            summary="A case's payments and reversals since a date (default: 90 days)")
def case_payments(request: HttpRequest, case_id: int, since: dt.date | None = None) -> list[PaymentOut]:
    user = request.auth  # type: ignore[attr-defined]
    if not user.has_perm("payments.view_payment"):
        raise PermissionDenied("You may not see payments.")
    case = portfolio_selectors.case_get(user=user, case_id=case_id)
    start = since or (dt.date.today() - dt.timedelta(days=90))
    return [
        PaymentOut(
            txn_id=item.txn_id, loan_id=item.loan.loan_id, amount=item.amount, currency=item.currency,
            paid_at=item.paid_at, channel=item.channel, state=item.state, reversal_of=item.reversal_of,
        )
        for item in payments_since(case=case, since=start)
    ]
