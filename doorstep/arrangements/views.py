"""Staff pages of arrangements: a case's promises and plans, the approval queue, the follow-up list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from doorstep.arrangements import conf, selectors, services
from doorstep.arrangements.forms import DecisionForm, PlanForm, PlanRequestForm, PromiseForm
from doorstep.arrangements.models import PlanStatus
from doorstep.core.money import ZERO
from doorstep.payments.selectors import payments_since
from doorstep.portfolio import selectors as portfolio_selectors
from doorstep.portfolio.views import staff_login_required


def _errors(error: ValidationError) -> str:
    return " ".join(error.messages)


def _case_page(request: HttpRequest, case_id: int, *, status: int = 200, **forms: Any) -> HttpResponse:
    case = portfolio_selectors.case_get(user=request.user, case_id=case_id)
    today = timezone.localdate()
    context = {
        "case": case,
        "borrower": case.borrower,
        "arrangements": selectors.case_arrangements(case=case),
        "payments": payments_since(case=case, since=today - dt.timedelta(days=90)),
        "promise_form": forms.get("promise_form") or PromiseForm(prefix="promise", initial={"due_on": today + dt.timedelta(days=7)}),
        "plan_form": forms.get("plan_form") or PlanForm(prefix="plan", initial={"first_due": today + dt.timedelta(days=14)}),
        "request_form": forms.get("request_form") or PlanRequestForm(prefix="request"),
        "may_propose": request.user.has_perm("arrangements.propose_plan") and case.is_active,
        "authority": conf.plan_authority().get(conf.user_level(request.user) or "", None),
        "level": conf.user_level(request.user),
    }
    return render(request, "arrangements/case.html", context, status=status)


@staff_login_required
@permission_required("arrangements.view_repaymentplan", raise_exception=True)
@require_GET
def case_arrangements(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, case_id)


@staff_login_required
@permission_required("arrangements.propose_plan", raise_exception=True)
@require_POST
def promise_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = portfolio_selectors.case_get(user=request.user, case_id=case_id)
    form = PromiseForm(request.POST, prefix="promise")
    if form.is_valid():
        try:
            services.promise_record(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, _("The promise was recorded; a reminder goes out before the date."))
            return redirect(reverse("arrangements:case", args=[case.pk]))
    return _case_page(request, case_id, status=400, promise_form=form)


@staff_login_required
@permission_required("arrangements.propose_plan", raise_exception=True)
@require_POST
def plan_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = portfolio_selectors.case_get(user=request.user, case_id=case_id)
    form = PlanForm(request.POST, prefix="plan")
    if form.is_valid():
        data = form.cleaned_data
        try:
            plan = services.plan_propose(
                actor=request.user,
                case=case,
                kind=data["kind"],
                first_due=data["first_due"],
                count=data["count"],
                include_remaining_principal=data["include_remaining_principal"],
                waive_penalty=data["waive_penalty"],
                waive_interest=data["waive_interest"],
                discount_percent=data["discount_percent"] or ZERO,
                deferral_days=data["deferral_days"] or 0,
                forbearance_note=data["forbearance_note"],
            )
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            if plan.status == PlanStatus.ACTIVE:
                messages.success(request, _("The plan is within your authority and is now active."))
            else:
                messages.success(
                    request,
                    _("The plan was sent for approval by a %(level)s.") % {"level": plan.get_required_level_display()},
                )
            return redirect(reverse("arrangements:plan", args=[plan.pk]))
    return _case_page(request, case_id, status=400, plan_form=form)


@staff_login_required
@permission_required("arrangements.propose_plan", raise_exception=True)
@require_POST
def request_create(request: HttpRequest, case_id: int) -> HttpResponse:
    case = portfolio_selectors.case_get(user=request.user, case_id=case_id)
    form = PlanRequestForm(request.POST, prefix="request")
    if form.is_valid():
        try:
            services.plan_request(actor=request.user, case=case, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, _errors(error))
        else:
            messages.success(request, _("The affordability check was recorded."))
            return redirect(reverse("arrangements:case", args=[case.pk]))
    return _case_page(request, case_id, status=400, request_form=form)


@staff_login_required
@permission_required("arrangements.view_repaymentplan", raise_exception=True)
@require_GET
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, plan_id=plan_id)
    may_decide = (
        plan.status == PlanStatus.PENDING_APPROVAL
        and request.user.has_perm("arrangements.approve_plan")
        and conf.level_covers(conf.user_level(request.user), plan.required_level)
    )
    context = {
        "plan": plan,
        "case": plan.case,
        "instalments": plan.instalments.order_by("number"),
        "may_decide": may_decide,
        "form": DecisionForm(),
    }
    return render(request, "arrangements/plan.html", context)


@staff_login_required
@permission_required("arrangements.view_repaymentplan", raise_exception=True)
@require_GET
def plan_agreement(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = selectors.plan_get(user=request.user, plan_id=plan_id)
    stored = type(plan).objects.filter(pk=plan.pk).values_list("agreement_pdf", flat=True).first()
    if not stored:
        from django.http import Http404

        raise Http404("no agreement yet")
    response = HttpResponse(bytes(stored), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="plan-{plan.pk}.pdf"'
    return response


@staff_login_required
@permission_required("arrangements.approve_plan", raise_exception=True)
@require_POST
def plan_decide(request: HttpRequest, plan_id: int, decision: str) -> HttpResponse:
    form = DecisionForm(request.POST)
    form.is_valid()
    note = form.cleaned_data.get("note", "")
    try:
        if decision == "approve":
            services.plan_approve(actor=request.user, plan_id=plan_id, note=note)
            messages.success(request, _("The plan was approved and is active; the agreement goes to the borrower."))
        else:
            services.plan_reject(actor=request.user, plan_id=plan_id, reason=note)
            messages.success(request, _("The plan was rejected."))
    except (ValidationError, PermissionDenied) as error:
        text = _errors(error) if isinstance(error, ValidationError) else str(error)
        messages.error(request, text)
    return redirect(reverse("arrangements:plan", args=[plan_id]))


@staff_login_required
@permission_required("arrangements.approve_plan", raise_exception=True)
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    return render(request, "arrangements/approvals.html", {"plans": selectors.approval_queue(user=request.user)})


@staff_login_required
@permission_required("arrangements.view_repaymentplan", raise_exception=True)
@require_http_methods(["GET"])
def follow_ups(request: HttpRequest) -> HttpResponse:
    context = {
        "tasks": selectors.follow_up_list(user=request.user)[:300],
        "broken": selectors.broken_promises(user=request.user),
    }
    return render(request, "arrangements/follow_ups.html", context)


@staff_login_required
@permission_required("arrangements.propose_plan", raise_exception=True)
@require_POST
def follow_up_done(request: HttpRequest, follow_up_id: int) -> HttpResponse:
    task = selectors.follow_up_get(user=request.user, task_id=follow_up_id)
    try:
        services.follow_up_done(actor=request.user, task_id=task.pk)
    except ValidationError as error:
        messages.error(request, _errors(error))
    return redirect(reverse("arrangements:follow_ups"))
