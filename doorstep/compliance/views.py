from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from doorstep.compliance import selectors, services
from doorstep.compliance.charts import bars_by_rule
from doorstep.compliance.forms import OverrideForm, ReportFilterForm, RuleSetEditForm
from doorstep.compliance.models import Jurisdiction, Verdict


def _filters(request: HttpRequest) -> ReportFilterForm:
    data = request.GET.copy()
    for name, value in ReportFilterForm.defaults().items():
        if not data.get(name):
            data[name] = value.isoformat()
    return ReportFilterForm(data)


@login_required
def report(request: HttpRequest) -> HttpResponse:
    selectors.require_reports(request.user)
    form = _filters(request)
    context: dict[str, Any] = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        result = selectors.compliance_report(
            user=request.user,
            since=data["since"],
            until=data["until"],
            team_id=data["team"].pk if data["team"] else None,
            collector_id=data["collector"].pk if data["collector"] else None,
        )
        labels = {"refused": _("Refused"), "overridden": _("Overridden"), "near_misses": _("Near misses"),
                  "empty": _("Nothing to report in this period.")}
        context.update(
            report=result,
            chart=bars_by_rule(result.by_rule, labels, _("Refusals, overrides and near misses by rule")),
            export_query=request.GET.urlencode() or f"since={data['since']}&until={data['until']}",
            can_export=selectors.sees_whole_portfolio(request.user),
        )
    return render(request, "compliance/report.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def export(request: HttpRequest) -> HttpResponse:
    selectors.require_reports(request.user)
    form = _filters(request)
    if not form.is_valid():
        return HttpResponse(_("Choose a valid period."), status=400, content_type="text/plain; charset=utf-8")
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    rows = selectors.export_rows(user=request.user, since=since, until=until)
    header = next(rows)  # raises PermissionDenied before anything is streamed
    services.ledger_export_record(actor=request.user, since=since, until=until)
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-ledger-{since}-{until}.csv"'
    return response


@login_required
def case_timeline(request: HttpRequest, case_id: int) -> HttpResponse:
    case, contacts = selectors.case_timeline(user=request.user, case_id=case_id)
    return render(request, "compliance/case_timeline.html", {"case": case, "contacts": contacts})


@login_required
@require_http_methods(["GET", "POST"])
def contact_override(request: HttpRequest, contact_id: int) -> HttpResponse:
    if not request.user.has_perm("compliance.override_contact"):
        raise PermissionDenied(_("Only a team lead may override a refusal."))
    contact = selectors.with_reasons(selectors.contact_get(user=request.user, contact_id=contact_id))
    form = OverrideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_override(actor=request.user, contact_event=contact, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The contact is allowed by your override; the override is on record."))
            return redirect(reverse("compliance:case_timeline", args=[contact.case_id]))
    return render(
        request,
        "compliance/contact_override.html",
        {"contact": contact, "form": form, "can_override": contact.verdict == Verdict.REFUSED},
    )


@login_required
def ruleset_list(request: HttpRequest) -> HttpResponse:
    selectors.require_reports(request.user)
    history = {code: selectors.rule_set_history(code) for code in Jurisdiction.values}
    return render(
        request,
        "compliance/ruleset_list.html",
        {"history": history, "default": services.default_jurisdiction(),
         "can_edit": request.user.has_perm("compliance.edit_rules")},
    )


@login_required
def ruleset_detail(request: HttpRequest, rule_set_id: int) -> HttpResponse:
    selectors.require_reports(request.user)
    rule_set, rules = selectors.rule_set_get(rule_set_id)
    return render(request, "compliance/ruleset_detail.html", {"rule_set": rule_set, "rules": rules})


@login_required
@require_http_methods(["GET", "POST"])
def ruleset_edit(request: HttpRequest, jurisdiction: str) -> HttpResponse:
    if not request.user.has_perm("compliance.edit_rules"):
        raise PermissionDenied(_("You may not edit rule sets."))
    if jurisdiction not in Jurisdiction.values:
        raise Http404("no such jurisdiction")
    current = services.ruleset_active(jurisdiction)
    rules = list(current.rules.order_by("id"))
    form = RuleSetEditForm(request.POST or None, rules=rules)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if form.is_valid():
            try:
                published = services.ruleset_publish(
                    actor=request.user, jurisdiction=jurisdiction, changes=changes, note=form.cleaned_data["note"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Rule set %(label)s is now in force.") % {"label": published.label})
                return redirect(reverse("compliance:ruleset_detail", args=[published.pk]))
    return render(request, "compliance/ruleset_edit.html", {"rule_set": current, "form": form})


@login_required
def retention(request: HttpRequest) -> HttpResponse:
    selectors.require_reports(request.user)
    policies = {code: services.retention_policies(code) for code in Jurisdiction.values}
    return render(request, "compliance/retention.html", {"runs": selectors.retention_runs(), "policies": policies})
