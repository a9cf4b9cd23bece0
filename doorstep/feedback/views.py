from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from doorstep.feedback import charts, selectors, services
from doorstep.feedback.forms import (
    AssignForm,
    ComplaintLogForm,
    DashboardFilterForm,
    NoteForm,
    QueueFilterForm,
    ReasonForm,
    ResolveForm,
)
from doorstep.feedback.models import COMPLAINT_TRANSITIONS, Complaint, ComplaintStatus
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.visits.models import Visit

PAGE_SIZE = 50


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(message for messages_ in error.message_dict.values() for message in messages_)
    return " ".join(error.messages)


# ---------------------------------------------------------------- the queue


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    selectors.require_view(request.user)
    teams = selectors.teams_visible(user=request.user)
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = "open"
    form = QueueFilterForm(data, teams=teams)
    filters = selectors.QueueFilters()
    if form.is_valid():
        cleaned = form.cleaned_data
        filters = selectors.QueueFilters(
            status=cleaned["status"], category=cleaned["category"],
            team_id=cleaned["team"].pk if cleaned["team"] else None, mine=cleaned["mine"],
            breached=cleaned["breached"], query=cleaned["q"],
        )
    now = timezone.now()
    page = Paginator(selectors.complaints_queue(user=request.user, filters=filters, now=now), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(complaint, selectors.complaint_clock(complaint, now)) for complaint in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form, "page": page, "rows": rows, "query": query.urlencode(),
        "may_handle": request.user.has_perm(selectors.HANDLE_PERMISSION),
    }
    template = "feedback/_queue_table.html" if request.htmx else "feedback/queue.html"  # type: ignore[attr-defined]
    return render(request, template, context)


# ---------------------------------------------------------------- one complaint


def _detail_context(request: HttpRequest, complaint: Complaint, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    may_handle = request.user.has_perm(selectors.HANDLE_PERMISSION)
    allowed = COMPLAINT_TRANSITIONS[complaint.status] if may_handle else frozenset()
    context: dict[str, Any] = {
        "complaint": complaint,
        "clock": selectors.complaint_clock(complaint),
        "events": list(complaint.events.all()),
        "attachments": list(complaint.attachments.all()),
        "may_handle": may_handle,
        "can_acknowledge": ComplaintStatus.ACKNOWLEDGED in allowed,
        "can_investigate": ComplaintStatus.INVESTIGATING in allowed,
        "can_resolve": ComplaintStatus.RESOLVED in allowed,
        "can_reject": ComplaintStatus.REJECTED in allowed,
        "can_extend": may_handle and complaint.is_open and not complaint.was_extended,
        "can_assign": may_handle and complaint.is_open,
        "note_form": NoteForm(),
        "reason_form": ReasonForm(),
        "extend_form": ReasonForm(prefix="extend"),
        "resolve_form": ResolveForm(),
    }
    if context["can_assign"]:
        context["assign_form"] = AssignForm(
            handlers=selectors.handlers_for(complaint=complaint),
            initial={"handler": str(complaint.handler_id or "")},
        )
    context.update(forms or {})
    return context


@login_required
def complaint_detail(request: HttpRequest, complaint_id: int) -> HttpResponse:
    complaint = selectors.complaint_get(user=request.user, complaint_id=complaint_id)
    return render(request, "feedback/complaint_detail.html", _detail_context(request, complaint))


def _run_step(request: HttpRequest, complaint: Complaint, step: str) -> tuple[bool, dict[str, Any]]:
    """Validate the step's form and call its one service. Returns whether it was done and the bound forms."""
    actor, pk = request.user, complaint.pk
    calls: dict[str, tuple[str, Any, Callable[[dict[str, Any]], Any]]] = {
        "acknowledge": ("note_form", NoteForm(request.POST),
                        lambda d: services.complaint_acknowledge(actor=actor, complaint_id=pk, note=d["note"])),
        "investigate": ("note_form", NoteForm(request.POST),
                        lambda d: services.complaint_investigate(actor=actor, complaint_id=pk, note=d["note"])),
        "extend": ("extend_form", ReasonForm(request.POST, prefix="extend"),
                   lambda d: services.complaint_extend(actor=actor, complaint_id=pk, reason=d["reason"])),
        "resolve": ("resolve_form", ResolveForm(request.POST),
                    lambda d: services.complaint_resolve(actor=actor, complaint_id=pk, outcome=d["outcome"],
                                                         resolution=d["resolution"])),
        "reject": ("reason_form", ReasonForm(request.POST),
                   lambda d: services.complaint_reject(actor=actor, complaint_id=pk, reason=d["reason"])),
    }
    if step == "assign":
        form = AssignForm(request.POST, handlers=selectors.handlers_for(complaint=complaint))
        if not form.is_valid():
            return False, {"assign_form": form}
        try:
            services.complaint_assign(actor=actor, complaint_id=pk, handler=form.handlers[form.cleaned_data["handler"]])
        except ValidationError as error:
            form.add_error(None, _error_text(error))
            return False, {"assign_form": form}
        return True, {}
    if step not in calls:
        raise Http404("no such step")
    name, form, call = calls[step]
    if not form.is_valid():
        return False, {name: form}
    try:
        call(form.cleaned_data)
    except ValidationError as error:
        form.add_error(None, _error_text(error))
        return False, {name: form}
    return True, {}


@login_required
@require_POST
def complaint_step(request: HttpRequest, complaint_id: int, step: str) -> HttpResponse:
    selectors.require_handle(request.user)
    complaint = selectors.complaint_get(user=request.user, complaint_id=complaint_id)
    done, forms = _run_step(request, complaint, step)
    if done:
        done_text = {
            "acknowledge": _("Acknowledged; the borrower has been told."),
            "investigate": _("Investigation started; the borrower has been told."),
            "extend": _("Deadline extended; the borrower has been told."),
            "resolve": _("Decision recorded; the borrower has been told."),
            "reject": _("Complaint rejected; the borrower has been told why."),
            "assign": _("Handler assigned."),
        }[step]
        complaint = selectors.complaint_get(user=request.user, complaint_id=complaint_id)
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(request, done_text)
            return redirect("feedback:complaint_detail", complaint_id=complaint_id)
        forms["done_text"] = done_text
    context = _detail_context(request, complaint, forms)
    if request.htmx:  # type: ignore[attr-defined]
        # htmx swaps only 2xx answers: the form with its errors comes back as 200.
        return render(request, "feedback/_complaint_main.html", context)
    return render(request, "feedback/complaint_detail.html", context, status=422)


@login_required
def attachment_download(request: HttpRequest, complaint_id: int, attachment_id: int) -> FileResponse:
    complaint = selectors.complaint_get(user=request.user, complaint_id=complaint_id)
    attachment = complaint.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404("no such attachment")
    response = FileResponse(
        attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name or attachment.sha256,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- logging a complaint


@login_required
@require_http_methods(["GET", "POST"])
def complaint_log(request: HttpRequest) -> HttpResponse:
    selectors.require_handle(request.user)
    initial = {"case": request.GET.get("case")} if request.GET.get("case", "").isdigit() else {}
    form = ComplaintLogForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = portfolio_selectors.case_get(user=request.user, case_id=data["case"])
        except Http404:
            form.add_error("case", _("No case with this number that you may see."))
        else:
            visit = None
            if data["visit"]:
                visit = Visit.objects.filter(pk=data["visit"], case=case).select_related("collector").first()
                if visit is None:
                    form.add_error("visit", _("This case has no visit with this number."))
            if not form.errors:
                try:
                    complaint = services.complaint_file(
                        actor=request.user, borrower=case.borrower, category=data["category"], text=data["text"],
                        channel=data["channel"], case=case, visit=visit, attachments=data["attachments"],
                        received_at=data["received_at"],
                    )
                except ValidationError as error:
                    form.add_error(None, _error_text(error))
                else:
                    messages.success(request, _("Complaint %(ref)s logged.") % {"ref": complaint.reference})
                    return redirect("feedback:complaint_detail", complaint_id=complaint.pk)
    return render(request, "feedback/complaint_log.html", {"form": form}, status=422 if form.errors else 200)


# ---------------------------------------------------------------- the dashboard


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    selectors.require_view(request.user)
    teams = selectors.teams_visible(user=request.user)
    today = timezone.localdate()
    data = request.GET.copy()
    data.setdefault("since", (today - dt.timedelta(weeks=12)).isoformat())
    data.setdefault("until", today.isoformat())
    form = DashboardFilterForm(data, teams=teams)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        cleaned = form.cleaned_data
        team_id = cleaned["team"].pk if cleaned["team"] else None
        board = selectors.feedback_dashboard(user=request.user, since=cleaned["since"], until=cleaned["until"],
                                             team_id=team_id)
        labels = {"complaints": _("Complaints"), "upheld": _("Upheld"), "stars": _("Average stars"),
                  "breached": pgettext("complaint", "overdue"), "empty": _("Nothing in this period.")}
        context.update(
            board=board,
            trend=charts.weekly_trend(board.by_week, labels, _("Complaints and average rating by week")),
            categories=charts.bars_by_category(board.by_category, labels, _("Complaints by category")),
            stars=charts.stars_bars(
                selectors.stars_histogram(user=request.user, since=cleaned["since"], until=cleaned["until"],
                                          team_id=team_id),
                _("Ratings by number of stars"),
            ),
            now=timezone.now(),
            breach_rows=[(complaint, selectors.complaint_clock(complaint)) for complaint in board.breaches],
        )
    return render(request, "feedback/dashboard.html", context)


# ---------------------------------------------------------------- a visit's feedback


@login_required
def visit_page(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.visit_for_feedback(user=request.user, visit_id=visit_id)
    feedback = selectors.visit_feedback(visit=visit, user=request.user)
    return render(request, "feedback/visit.html", {"visit": visit, "feedback": feedback,
                                                   "clocks": {c.pk: selectors.complaint_clock(c) for c in feedback.complaints}})

