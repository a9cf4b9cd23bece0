"""The payments import page for managers: upload, then follow the import (htmx polling) to its report."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from doorstep.payments.forms import PaymentsUploadForm
from doorstep.payments.selectors import payment_import_list
from doorstep.payments.uploads import payments_upload
from doorstep.portfolio.views import _wants_fragment, staff_login_required

SUMMARY_LABELS = {
    "file_name": _("File"),
    "rows": _("Rows"),
    "payments_added": _("Payments added"),
    "reversals_added": _("Reversals added"),
    "reversals_waiting": _("Reversals waiting for their payment"),
    "duplicates_skipped": _("Already imported (skipped)"),
    "cases_cured": _("Cases cured"),
    "seconds": _("Seconds taken"),
}


@staff_login_required
@permission_required("payments.import_payments", raise_exception=True)
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        form = PaymentsUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                result_id = payments_upload(
                    actor=request.user, upload=form.cleaned_data["file"], encoding=form.cleaned_data["encoding"] or None
                )
            except ValidationError as error:
                form.add_error("file", error)
            else:
                return redirect(reverse("payments:import_status", args=[result_id]))
        status = 400
    else:
        form = PaymentsUploadForm()
    return render(request, "payments/imports.html", {"form": form, "imports": payment_import_list()}, status=status)


@staff_login_required
@permission_required("payments.import_payments", raise_exception=True)
@require_GET
def import_status(request: HttpRequest, result_id: str) -> HttpResponse:
    from django.tasks.exceptions import TaskResultDoesNotExist, TaskResultMismatch

    from doorstep.payments.tasks import payments_import_task

    try:
        result = payments_import_task.get_result(result_id)
    except (TaskResultDoesNotExist, TaskResultMismatch, ValueError) as error:
        raise Http404("no such import") from error
    if result.kwargs.get("actor_id") != request.user.pk:
        raise Http404("no such import")
    context = {"result_id": result_id, **outcome(result)}
    template = "payments/_import_status.html" if _wants_fragment(request) else "payments/import_status.html"
    response = render(request, template, context)
    add_never_cache_headers(response)
    return response


def outcome(result: Any) -> dict[str, Any]:
    from django.tasks import TaskResultStatus

    found: dict[str, Any] = {
        "status": result.status, "finished": result.is_finished, "enqueued_at": result.enqueued_at,
        "summary": None, "errors": None, "error_total": 0, "failure": "", "warnings": [], "rejected": False,
        "message": "", "already_imported": False,
    }
    if result.status == TaskResultStatus.FAILED:
        last = result.errors[-1] if result.errors else None
        found["failure"] = last.exception_class_path.rsplit(".", 1)[-1] if last else ""
    elif result.status == TaskResultStatus.SUCCESSFUL:
        value = result.return_value if isinstance(result.return_value, dict) else {}
        if value.get("ok") is False:
            found.update(rejected=True, errors=value.get("errors") or [], error_total=value.get("total_errors", 0),
                         message=value.get("message", ""))
        else:
            found["already_imported"] = bool(value.get("already_imported"))
            found["summary"] = [(label, value.get(key)) for key, label in SUMMARY_LABELS.items() if key in value]
            found["warnings"] = [str(item) for item in value.get("warnings") or []][:200]
    return found
