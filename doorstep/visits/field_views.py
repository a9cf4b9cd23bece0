"""The collector's field app on a phone: today's stops, a stop's brief, check-in, record, check-out, SOS."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from doorstep.visits import field_selectors as selectors
from doorstep.visits import field_services as services
from doorstep.visits.field_forms import AttachmentForm, CheckInForm, PositionForm, RecordForm, SosForm
from doorstep.visits.models import VisitStatus


def _add_errors(form: Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _day(request: HttpRequest) -> dt.date:
    raw = request.GET.get("day", "")
    try:
        return dt.date.fromisoformat(raw) if raw else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@login_required
@require_GET
def field_today(request: HttpRequest) -> HttpResponse:
    day = _day(request)
    route = selectors.today_route(user=request.user, day=day)
    return render(
        request,
        "visits/field/today.html",
        {
            "route": route,
            "route_picture": selectors.route_svg(route),
            "day": day,
            "is_today": day == timezone.localdate(),
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "next_planned_day": None if route.stops else selectors.next_planned_day(user=request.user, after=day),
            "sos_form": SosForm(),
        },
    )


def _record_initial(visit: Any) -> dict[str, Any]:
    promise = services.visit_promise(visit) if visit.result == "promise" else None
    return {
        "person_met": visit.person_met, "attitude": visit.attitude, "willingness": visit.willingness,
        "delinquency_reason": visit.delinquency_reason, "result": visit.result, "notes": visit.notes,
        "next_action": visit.next_action, "follow_up_on": visit.follow_up_on,
        "promise_amount": getattr(promise, "amount", None), "promise_due_on": getattr(promise, "due_on", None),
    }


def _stop_page(request: HttpRequest, visit_id: int, *, status: int = 200, **forms: Any) -> HttpResponse:
    brief = selectors.visit_brief(user=request.user, visit_id=visit_id)
    visit = brief.visit
    context: dict[str, Any] = {"brief": brief, "visit": visit, "sos_form": SosForm(initial={"visit": visit.pk})}
    if visit.status == VisitStatus.SCHEDULED:
        context["check_in_form"] = forms.get("check_in_form") or CheckInForm(
            confirmations=selectors.confirmations_required(visit=visit)
        )
        context["refusal"] = forms.get("refusal")
    elif visit.status == VisitStatus.CHECKED_IN:
        context["record_form"] = forms.get("record_form") or RecordForm(initial=_record_initial(visit))
        context["attachment_form"] = forms.get("attachment_form") or AttachmentForm()
        context["check_out_form"] = forms.get("check_out_form") or PositionForm()
    elif visit.status == VisitStatus.COMPLETED:
        context["attachment_form"] = forms.get("attachment_form") or AttachmentForm()
    return render(request, "visits/field/stop.html", context, status=status)


@login_required
@require_GET
def field_stop(request: HttpRequest, visit_id: int) -> HttpResponse:
    return _stop_page(request, visit_id)


@login_required
@require_POST
def field_check_in(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.field_visit_get(user=request.user, visit_id=visit_id)
    form = CheckInForm(request.POST, confirmations=selectors.confirmations_required(visit=visit))
    if not form.is_valid():
        return _stop_page(request, visit_id, status=400, check_in_form=form)
    data = form.cleaned_data
    try:
        result = services.visit_check_in(
            actor=request.user,
            visit_id=visit.pk,
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            accuracy_m=data.get("accuracy"),
            confirmations=form.given(),
            enters_residence=data.get("enters_residence", False),
        )
    except ValidationError as error:
        _add_errors(form, error)
        return _stop_page(request, visit_id, status=400, check_in_form=form)
    if not result.allowed:
        return _stop_page(request, visit_id, status=409, check_in_form=form, refusal=result.verdict.reasons)
    if result.far:
        messages.warning(
            request,
            _("Checked in %(metres)s m from the address. Your team lead has been told.")
            % {"metres": result.distance_m},
        )
    else:
        messages.success(request, _("Checked in. Record what happens, then check out."))
    return redirect("visits:field_stop", visit_id=visit.pk)


@login_required
@require_POST
def field_record(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.field_visit_get(user=request.user, visit_id=visit_id)
    form = RecordForm(request.POST)
    if not form.is_valid():
        return _stop_page(request, visit_id, status=400, record_form=form)
    try:
        services.visit_record(actor=request.user, visit_id=visit.pk, record=form.record())
    except ValidationError as error:
        _add_errors(form, error)
        return _stop_page(request, visit_id, status=400, record_form=form)
    messages.success(request, _("Visit record saved."))
    return redirect(reverse("visits:field_stop", kwargs={"visit_id": visit.pk}) + "#check-out")


@login_required
@require_POST
def field_attachment_add(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.field_visit_get(user=request.user, visit_id=visit_id)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return _stop_page(request, visit_id, status=400, attachment_form=form)
    try:
        services.visit_attachment_add(actor=request.user, visit_id=visit.pk, upload=form.cleaned_data["file"])
    except ValidationError as error:
        _add_errors(form, error)
        return _stop_page(request, visit_id, status=400, attachment_form=form)
    messages.success(request, _("File attached."))
    return redirect("visits:field_stop", visit_id=visit.pk)


@login_required
@require_GET
def field_attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = selectors.field_attachment_get(user=request.user, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as error:
        raise Http404("file missing") from error
    # Photos and recordings open in the phone's viewer; anything else is downloaded, never rendered here.
    inline = attachment.content_type.startswith(("image/", "audio/"))
    return FileResponse(
        handle, content_type=attachment.content_type, filename=attachment.original_name, as_attachment=not inline
    )


@login_required
@require_POST
def field_check_out(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = selectors.field_visit_get(user=request.user, visit_id=visit_id)
    form = PositionForm(request.POST)
    if not form.is_valid():
        return _stop_page(request, visit_id, status=400, check_out_form=form)
    try:
        services.visit_check_out(
            actor=request.user, visit_id=visit.pk,
            latitude=form.cleaned_data.get("latitude"), longitude=form.cleaned_data.get("longitude"),
        )
    except ValidationError as error:
        _add_errors(form, error)
        return _stop_page(request, visit_id, status=400, check_out_form=form)
    messages.success(request, _("Checked out. On to the next stop."))
    return redirect("visits:field_today")


@login_required
@require_POST
def field_sos(request: HttpRequest) -> HttpResponse:
    if selectors.collector_for(request.user) is None:
        raise Http404("not a collector")
    form = SosForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    visit_id = data.get("visit")
    if visit_id:
        selectors.field_visit_get(user=request.user, visit_id=visit_id)
    try:
        services.alert_sos_raise(
            actor=request.user,
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            visit_id=visit_id,
            note=data.get("note") or "",
        )
    except (ValidationError, PermissionDenied):
        services.alert_sos_raise(actor=request.user, latitude=None, longitude=None, note=data.get("note") or "")
    messages.error(request, _("SOS sent. Your team lead has your position. Get somewhere safe."))
    return redirect(request.POST["next"] if _safe_next(request) else "visits:field_today")


def _safe_next(request: HttpRequest) -> bool:
    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
