from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.core.pdf import Heading, NewPage, Picture, TableBlock, Text, pdf_render
from doorstep.scoring import charts, selectors, services
from doorstep.scoring import features as F
from doorstep.scoring.maths.reasons import factor_label
from doorstep.scoring.maths.scorecard import EXCLUDED_LOW_INFORMATION, EXCLUDED_REVERSED
from doorstep.scoring.models import ModelKind, ModelStatus, ModelVersion


def _exclusion_reason(reason: str) -> str:
    """The reasons the model code records, in the reader's language."""
    known = {
        EXCLUDED_LOW_INFORMATION: _("Low information value: too weak to earn a place in the model."),
        EXCLUDED_REVERSED: _("Weight reversed in the regression (overlaps other features)."),
        F.EXCLUDED.get("borrower_age", ""): _("Age is a protected attribute: not used to decide how a borrower is treated."),
    }
    return str(known.get(reason, reason))


def _language(request: HttpRequest) -> str:
    return "zh-Hans" if (request.LANGUAGE_CODE or "").lower().startswith("zh") else "en"


@login_required
@permission_required("scoring.view_models", raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    models = list(selectors.model_list())
    return render(
        request,
        "scoring/index.html",
        {"models": models, "runs": list(selectors.run_list(limit=5)), "primary_kind": services.primary_kind()},
    )


def _report_context(model: ModelVersion, language: str) -> dict[str, Any]:
    report = model.report
    context: dict[str, Any] = {"report": report}
    if model.kind == ModelKind.UPLIFT:
        context["qini_svg"] = charts.qini_chart(
            report["qini"], _("Qini curve"), _("Share of cases visited, by predicted uplift"), _("Extra payers per case")
        )
        return context
    context["calibration_svg"] = charts.calibration_chart(
        report["calibration"], _("Calibration"), _("Predicted chance of paying"), _("Observed payment rate")
    )
    context["distribution_svg"] = charts.distribution_chart(
        report["score_distribution"], _("Score distribution"), _("Band"), _("Share of cases")
    )
    context["importance"] = [(factor_label(name, language), share) for name, share in report.get("importance", [])[:10]]
    return context


@login_required
@permission_required("scoring.view_models", raise_exception=True)
def model_detail(request: HttpRequest, model_id: int) -> HttpResponse:
    model = selectors.model_get(model_id=model_id)
    language = _language(request)
    excluded = [(factor_label(name, language), _exclusion_reason(reason)) for name, reason in model.excluded.items()]
    may_decide = (
        request.user.has_perm("scoring.approve_model")
        and model.status == ModelStatus.TRAINED
        and model.trained_by_id != request.user.pk
    )
    return render(
        request,
        "scoring/model_detail.html",
        {
            "model": model,
            "excluded": excluded,
            "features": [factor_label(name, language) for name in model.features],
            "may_decide": may_decide,
            "is_trainer": model.trained_by_id == request.user.pk,
            **_report_context(model, language),
        },
    )


@login_required
@permission_required("scoring.approve_model", raise_exception=True)
@require_POST
def model_approve(request: HttpRequest, model_id: int) -> HttpResponse:
    model = selectors.model_get(model_id=model_id)
    try:
        services.model_approve(actor=request.user, model_id=model.pk, note=request.POST.get("note", ""))
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", [str(error)]):
            messages.error(request, message)
    else:
        messages.success(request, _("Approved: this model now scores production cases from the next daily run."))
    return redirect("scoring:model_detail", model_id=model.pk)


@login_required
@permission_required("scoring.approve_model", raise_exception=True)
@require_POST
def model_reject(request: HttpRequest, model_id: int) -> HttpResponse:
    model = selectors.model_get(model_id=model_id)
    try:
        services.model_reject(actor=request.user, model_id=model.pk, note=request.POST.get("note", ""))
    except (ValidationError, PermissionDenied) as error:
        for message in getattr(error, "messages", [str(error)]):
            messages.error(request, message)
    else:
        messages.success(request, _("Rejected."))
    return redirect("scoring:model_detail", model_id=model.pk)


def _png_calibration(bins: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 3.4), dpi=120)
    axes.plot([0, 1], [0, 1], linestyle="--", color="#bbbbbb")
    axes.plot([b["mean_predicted"] for b in bins], [b["observed_rate"] for b in bins], marker="o", color="#1f5fa8")
    axes.set_xlabel("predicted")
    axes.set_ylabel("observed")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


@login_required
@permission_required("scoring.view_models", raise_exception=True)
def model_pdf(request: HttpRequest, model_id: int) -> HttpResponse:
    model = selectors.model_get(model_id=model_id)
    language = _language(request)
    report = model.report
    blocks: list[Any] = [
        Text(
            _("Trained on %(source)s, %(start)s to %(end)s; validated on %(vstart)s to %(vend)s. Data hash %(hash)s.")
            % {
                "source": model.get_source_display(),
                "start": model.training_from,
                "end": model.training_to,
                "vstart": model.validation_from,
                "vend": model.validation_to,
                "hash": model.data_hash,
            }
        ),
        Text(_("Status: %(status)s. Trained by %(trainer)s.") % {"status": model.get_status_display(), "trainer": model.trained_by_label}),
        Heading(_("Metrics")),
        TableBlock(header=[_("Measure"), _("Value")], rows=[[key, f"{value:.4f}" if isinstance(value, float) else value] for key, value in model.metrics.items()]),
    ]
    if model.kind != ModelKind.UPLIFT:
        blocks += [
            Heading(_("Calibration")),
            Picture(png=_png_calibration(report["calibration"]), width_mm=120),
            Heading(_("Score distribution")),
            TableBlock(
                header=[_("Band"), _("Cases"), _("Share"), _("Predicted"), _("Observed")],
                rows=[
                    [r["band"], r["count"], f"{r['share']:.1%}", f"{r['mean_predicted']:.3f}", "" if r["observed_rate"] is None else f"{r['observed_rate']:.3f}"]
                    for r in report["score_distribution"]
                ],
            ),
            Heading(_("Performance by segment")),
            TableBlock(
                header=[_("Segment"), _("Cases"), _("Payment rate"), _("AUC")],
                rows=[
                    [r["segment"], r["count"], f"{r['observed_rate']:.3f}", "" if r["auc"] is None else f"{r['auc']:.3f}"]
                    for r in report.get("by_segment", [])
                ],
            ),
        ]
    else:
        blocks += [
            Heading(_("Qini curve")),
            TableBlock(
                header=[_("Share visited"), _("Extra payers per case"), _("Random targeting")],
                rows=[[f"{s:.0%}", f"{g:.4f}", f"{r:.4f}"] for s, g, r in zip(report["qini"]["shares"], report["qini"]["gains"], report["qini"]["random"], strict=True)],
            ),
        ]
    blocks += [
        NewPage(),
        Heading(_("Excluded attributes")),
        TableBlock(header=[_("Attribute"), _("Why")], rows=[[factor_label(name, language), _exclusion_reason(reason)] for name, reason in model.excluded.items()] or [["-", "-"]]),
        Heading(_("Features")),
        Text(", ".join(factor_label(name, language) for name in model.features)),
    ]
    pdf = pdf_render(title=_("Validation report: %(model)s") % {"model": str(model)}, blocks=blocks, footer="Doorstep")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="validation-{model.label}.pdf"'
    return response


@login_required
@permission_required("scoring.view_models", raise_exception=True)
def monitoring(request: HttpRequest) -> HttpResponse:
    runs = list(selectors.run_list())
    return render(request, "scoring/monitoring.html", {"runs": runs, "psi_alert": services.psi_alert_threshold(), "auc_drop": services.auc_drop_threshold()})


@login_required
def case_score(request: HttpRequest, case_id: int) -> HttpResponse:
    case, score = selectors.case_score_get(user=request.user, case_id=case_id)
    template = "scoring/_case_score.html" if request.htmx else "scoring/case_score.html"
    return render(request, template, {"case": case, "score": score})
