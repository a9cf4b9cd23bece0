from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.strategy import flows, selectors, services
from doorstep.strategy.forms import ExperimentForm, RuleForm, RunForm, StrategyCreateForm
from doorstep.strategy.models import Script
from doorstep.strategy.tasks import daily_run_enqueue


def _error(request: HttpRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _act_on_version(
    request: HttpRequest, version_id: int, change: Callable[[int], object], success: str = ""
) -> HttpResponse:
    """Apply one service `change` to a version the user may see, report the outcome, back to the version."""
    version = selectors.version_get(user=request.user, version_id=version_id)
    try:
        change(version.pk)
    except ValidationError as error:
        _error(request, error)
    else:
        if success:
            messages.success(request, success)
    return redirect("strategy:version_detail", version_id=version.pk)


@login_required
@permission_required("strategy.view_strategy", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    versions = selectors.version_list(user=request.user)
    return render(
        request,
        "strategy/index.html",
        {"versions": versions, "form": StrategyCreateForm(), "active": services.active_version()},
    )


@login_required
@permission_required("strategy.add_strategyversion", raise_exception=True)
@require_POST
def strategy_create(request: HttpRequest) -> HttpResponse:
    form = StrategyCreateForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("strategy:index")
    try:
        version = services.strategy_create(actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        _error(request, error)
        return redirect("strategy:index")
    return redirect("strategy:version_detail", version_id=version.pk)


@login_required
def version_detail(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    definition = services.definition_of(version)
    findings = selectors.version_findings(version)
    by_rule: dict[str, list] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule or "", []).append(finding)
    experiment = definition.experiment
    initial = {}
    if experiment is not None:
        initial = {"test_id": experiment.test_id, "holdout_share": experiment.holdout_share}
        if experiment.challengers:
            first = version.definition["experiment"]["challengers"][0]
            initial.update(
                {"challenger_version": first.get("source_version"), "challenger_share": first["share"]}
            )
    return render(
        request,
        "strategy/version_detail.html",
        {
            "version": version,
            "rules": [
                {"rule": rule, "condition": _condition_text(rule), "findings": by_rule.get(rule.key, [])}
                for rule in definition.rules
            ],
            "general_findings": by_rule.get("", []),
            "experiment": experiment,
            "experiment_form": ExperimentForm(initial=initial),
            "saved_dates": selectors.saved_dates()[:30],
            "can_edit": version.is_editable and request.user.has_perm("strategy.change_strategyversion"),
            "can_approve": version.status == "pending"
            and request.user.has_perm("strategy.approve_strategyversion")
            and version.submitted_by_id != request.user.pk,
        },
    )


def _condition_text(rule: object) -> str:
    from doorstep.strategy.rules import format_condition

    return format_condition(rule.condition)  # type: ignore[attr-defined]


@login_required
def version_preview(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    business_date = None
    if request.GET.get("date"):
        try:
            business_date = dt.date.fromisoformat(request.GET["date"])
        except ValueError as error:
            raise Http404("bad date") from error
    preview = selectors.version_preview(user=request.user, version=version, business_date=business_date)
    return render(request, "strategy/_preview.html", {"version": version, "preview": preview})


@login_required
@permission_required("strategy.change_strategyversion", raise_exception=True)
def rule_edit(request: HttpRequest, version_id: int, key: str | None = None) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    if not version.is_editable:
        messages.error(request, _("Only a draft can be changed; start a new draft from this version."))
        return redirect("strategy:version_detail", version_id=version.pk)
    existing = next((rule for rule in version.rules_json if rule["key"] == key), None) if key else None
    if key and existing is None:
        raise Http404("no such rule")
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                services.rule_save(
                    actor=request.user,
                    version_id=version.pk,
                    key=key,
                    name=form.cleaned_data["name"],
                    condition=form.cleaned_data["condition"],
                    steps=form.steps(),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("strategy:version_detail", version_id=version.pk)
    else:
        form = RuleForm(initial=RuleForm.initial_for(existing) if existing else {"step1_priority": 3})
    from doorstep.strategy.rules import ATTRIBUTES

    return render(
        request,
        "strategy/rule_form.html",
        {"version": version, "form": form, "key": key, "attributes": ATTRIBUTES.values()},
    )


@login_required
@permission_required("strategy.change_strategyversion", raise_exception=True)
@require_POST
def rule_delete(request: HttpRequest, version_id: int, key: str) -> HttpResponse:
    return _act_on_version(
        request, version_id, lambda pk: services.rule_delete(actor=request.user, version_id=pk, key=key)
    )


@login_required
@permission_required("strategy.change_strategyversion", raise_exception=True)
@require_POST
def rule_move(request: HttpRequest, version_id: int, key: str) -> HttpResponse:
    offset = -1 if request.POST.get("direction") == "up" else 1
    return _act_on_version(
        request,
        version_id,
        lambda pk: services.rule_move(actor=request.user, version_id=pk, key=key, offset=offset),
    )


@login_required
@permission_required("strategy.change_strategyversion", raise_exception=True)
@require_POST
def experiment_save(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    form = ExperimentForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("strategy:version_detail", version_id=version.pk)
    data = form.cleaned_data
    challengers = []
    if data.get("challenger_version"):
        if not data.get("challenger_share"):
            messages.error(request, _("Give the challenger's share."))
            return redirect("strategy:version_detail", version_id=version.pk)
        challengers.append(
            {
                "key": f"v{data['challenger_version']}",
                "name": _("Challenger (version %(id)s)") % {"id": data["challenger_version"]},
                "share": data["challenger_share"],
                "source_version_id": data["challenger_version"],
            }
        )
    try:
        services.experiment_save(
            actor=request.user,
            version_id=version.pk,
            test_id=data.get("test_id") or "",
            holdout_share=data.get("holdout_share") or 0,
            challengers=challengers,
        )
    except ValidationError as error:
        _error(request, error)
    else:
        messages.success(request, _("Test saved."))
    return redirect("strategy:version_detail", version_id=version.pk)


@login_required
@permission_required("strategy.add_strategyversion", raise_exception=True)
@require_POST
def version_new_draft(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    draft = services.version_new_draft(actor=request.user, version_id=version.pk)
    return redirect("strategy:version_detail", version_id=draft.pk)


@login_required
@permission_required("strategy.change_strategyversion", raise_exception=True)
@require_POST
def version_submit(request: HttpRequest, version_id: int) -> HttpResponse:
    note = request.POST.get("note", "")
    return _act_on_version(
        request,
        version_id,
        lambda pk: services.version_submit(actor=request.user, version_id=pk, note=note),
        _("Sent for approval. Another manager must approve it."),
    )


@login_required
@permission_required("strategy.approve_strategyversion", raise_exception=True)
@require_POST
def version_approve(request: HttpRequest, version_id: int) -> HttpResponse:
    return _act_on_version(
        request,
        version_id,
        lambda pk: services.version_approve(actor=request.user, version_id=pk),
        _("Approved. The next daily run applies this version."),
    )


@login_required
@permission_required("strategy.approve_strategyversion", raise_exception=True)
@require_POST
def version_return(request: HttpRequest, version_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _act_on_version(
        request, version_id, lambda pk: services.version_return(actor=request.user, version_id=pk, reason=reason)
    )


@login_required
def results(request: HttpRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(user=request.user, version_id=version_id)
    outcome = selectors.experiment_results(user=request.user, version=version)
    return render(request, "strategy/results.html", {"version": version, "results": outcome})


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    run_list = selectors.daily_run_list(user=request.user)[:30]
    template = "strategy/_runs.html" if request.htmx else "strategy/runs.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {
            "runs": run_list,
            "form": RunForm(),
            "steps": flows.DAILY_STEPS,
            "polling": any(run.status in {"pending", "running"} for run in run_list),
        },
    )


@login_required
@permission_required("strategy.run_daily", raise_exception=True)
@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a business date."))
        return redirect("strategy:runs")
    run = flows.daily_run_prepare(actor=request.user, business_date=form.cleaned_data["business_date"])
    daily_run_enqueue(run=run, user_id=request.user.pk)
    messages.success(request, _("The daily run is queued; a worker runs it."))
    return redirect("strategy:runs")


@login_required
def scripts(request: HttpRequest) -> HttpResponse:
    return render(request, "strategy/scripts.html", {"scripts": selectors.script_list(user=request.user)})


@login_required
def script_detail(request: HttpRequest, code: str) -> HttpResponse:
    if not selectors.script_list(user=request.user).filter(code=code).exists():
        raise Http404("no such script")
    text = selectors.script_text(code=code)
    script = Script.objects.get(code=code)
    return render(request, "strategy/script_detail.html", {"script": script, "text": text})
