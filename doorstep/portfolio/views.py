"""The staff pages of the portfolio: case list, case page, reveal, snapshot upload and its status."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from doorstep.core.masking import mask_national_id, mask_phone
from doorstep.portfolio import selectors, services
from doorstep.portfolio.forms import CaseFilterForm, SnapshotUploadForm
from doorstep.portfolio.uploads import snapshot_upload

REVEALABLE_FIELDS = ("national_id", "phone")
# How the import summary's figures are labelled; figures the import adds later show under their own key.
SUMMARY_LABELS = {
    "snapshot_date": _("Snapshot date"),
    "file_name": _("File"),
    "rows": _("Rows read"),
    "borrowers_created": _("Borrowers added"),
    "borrowers_updated": _("Borrowers updated"),
    "loans_created": _("Loans added"),
    "loans_updated": _("Loans updated"),
    "loans_cleared": _("Loans no longer overdue"),
    "cases_opened": _("Cases opened"),
    "cases_cured": _("Cases cured"),
    "cases_updated": _("Cases updated"),
    "seconds": _("Seconds taken"),
}
HIDDEN_SUMMARY_KEYS = {"ok", "already_imported", "import_id", "warnings"}


def staff_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`login_required`, except that an htmx request (a filter change, the import poll) whose session
    has expired sends the whole page to the login form instead of swapping the form into a panel."""
    guarded = login_required(view)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        htmx = getattr(request, "htmx", None)
        if htmx and not request.user.is_authenticated:
            back = htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}")
        return guarded(request, *args, **kwargs)

    return wrapper


def _wants_fragment(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and not htmx.boosted


@staff_login_required
@permission_required("portfolio.view_case", raise_exception=True)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(
        request.GET,
        collectors=selectors.collector_choices(user=request.user),
        branches=selectors.branch_choices(user=request.user),
    )
    form.is_valid()
    cases = selectors.case_search(user=request.user, filters=form.chosen_filters(), sort=form.chosen_sort())
    summary = selectors.case_summary(cases)
    try:
        number = int(request.GET.get("page", "1"))
    except ValueError:
        number = 1
    page = selectors.case_page(cases, total=summary.cases, number=number)
    fragment = _wants_fragment(request)
    context = {"form": form, "summary": summary, "page": page, "sort": form.chosen_sort(), "fragment": fragment}
    template = "portfolio/_case_results.html" if fragment else "portfolio/case_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@staff_login_required
@permission_required("portfolio.view_case", raise_exception=True)
@require_GET
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.case_get(user=request.user, case_id=case_id)
    can_audit = request.user.has_perm("core.view_auditevent")
    context = {
        "case": case,
        "borrower": case.borrower,
        "loans": selectors.case_loans(case),
        "assignments": list(selectors.case_assignment_history(case)),
        "bucket_moves": selectors.case_bucket_history(case),
        "status_changes": selectors.case_status_history(case),
        "contacts": selectors.case_contact_ledger(case),
        "visits": selectors.case_visits(case),
        "audit_events": selectors.case_audit_trail(case) if can_audit else None,
        "can_reveal": request.user.has_perm("portfolio.reveal_personal_data"),
    }
    context["current_assignment"] = next((a for a in context["assignments"] if a.ended_at is None), None)
    return render(request, "portfolio/case_detail.html", context)


@staff_login_required
@require_POST
def borrower_reveal(request: HttpRequest, case_id: int, field: str) -> HttpResponse:
    """Show one full number once. The service checks the permission and the case, and audits it."""
    if field not in REVEALABLE_FIELDS:
        raise Http404("no such field")
    value = services.borrower_reveal(actor=request.user, case_id=case_id, field=field)  # type: ignore[arg-type]
    context = {"case_id": case_id, "field": field, "value": value}
    template = "portfolio/_revealed.html" if _wants_fragment(request) else "portfolio/revealed.html"
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


@staff_login_required
@permission_required("portfolio.import_snapshot", raise_exception=True)
@require_http_methods(["GET", "POST"])
def snapshot_imports(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SnapshotUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result_id = snapshot_upload(
                    actor=request.user,
                    upload=form.cleaned_data["file"],
                    snapshot_date=form.cleaned_data["snapshot_date"],
                    encoding=form.cleaned_data["encoding"] or None,
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                return redirect(reverse("portfolio:snapshot_import_status", args=[result_id]))
        status = 400
    else:
        form = SnapshotUploadForm()
        status = 200
    context = {"form": form, "imports": selectors.snapshot_import_list()}
    return render(request, "portfolio/snapshot_imports.html", context, status=status)


@staff_login_required
@permission_required("portfolio.import_snapshot", raise_exception=True)
@require_GET
def snapshot_import_status(request: HttpRequest, result_id: str) -> HttpResponse:
    """Where a queued import stands; the page polls this until the import has finished."""
    result = _own_import_result(request, result_id)
    context = {"result_id": result_id, **import_outcome(result)}
    template = "portfolio/_import_status.html" if _wants_fragment(request) else "portfolio/import_status.html"
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


def _own_import_result(request: HttpRequest, result_id: str) -> Any:
    from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

    from doorstep.portfolio.tasks import snapshot_import_task

    try:
        result = snapshot_import_task.get_result(result_id)
    except (TaskResultDoesNotExist, TaskResultMismatch, ValueError) as error:
        raise Http404("no such import") from error
    if result.kwargs.get("actor_id") != request.user.pk:
        raise Http404("no such import")
    return result


def import_outcome(result: Any) -> dict[str, Any]:
    """What the status page shows for a task result: still running, failed, rejected rows, or done."""
    from django.tasks import TaskResultStatus

    outcome: dict[str, Any] = {
        "status": result.status,
        "finished": result.is_finished,
        "enqueued_at": result.enqueued_at,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "summary": None,
        "errors": None,
        "error_total": 0,
        "failure": "",
        "warnings": [],
        "rejected": False,
        "message": "",
        "already_imported": False,
    }
    if result.status == TaskResultStatus.FAILED:
        last = result.errors[-1] if result.errors else None
        outcome["failure"] = last.exception_class_path.rsplit(".", 1)[-1] if last else ""
    elif result.status == TaskResultStatus.SUCCESSFUL:
        value = result.return_value
        if not isinstance(value, dict):
            value = {"value": value}
        if value.get("ok") is False or value.get("errors"):
            errors = [_masked_error(row) for row in value.get("errors") or [] if isinstance(row, dict)]
            outcome["rejected"] = True
            outcome["errors"] = errors
            outcome["error_total"] = value.get("total_errors", value.get("total", len(errors)))
            outcome["message"] = value.get("message", "")
        else:
            outcome["already_imported"] = bool(value.get("already_imported"))
            if value.get("file_name"):
                sent_as = selectors.snapshot_upload_names([str(value["file_name"])]).get(str(value["file_name"]))
                value = {**value, "file_name": sent_as or value["file_name"]}
            outcome["summary"] = [
                (SUMMARY_LABELS.get(key, key), item)
                for key, item in value.items()
                if key not in HIDDEN_SUMMARY_KEYS and not isinstance(item, (dict, list))
            ]
            outcome["warnings"] = [str(warning) for warning in value.get("warnings") or []][:200]
    return outcome


PERSONAL_COLUMNS = {"national_id": mask_national_id, "phone": mask_phone}


def _masked_error(row: dict[str, Any]) -> dict[str, Any]:
    """An error row as shown on screen: a rejected ID number or phone is still personal data."""
    mask = PERSONAL_COLUMNS.get(str(row.get("column", "")))
    if mask is None or not row.get("value"):
        return row
    return {**row, "value": mask(str(row["value"]))}
