from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doorstep.reports import charts, facts, glossary, metrics, selectors, services, tables
from doorstep.reports.forms import FilterForm
from doorstep.reports.models import MonthlyReport
from doorstep.visits.models import VisitResult


def _filters(request: HttpRequest) -> tuple[FilterForm, selectors.Filters]:
    months = selectors.available_months()
    team = request.GET.get("team", "")
    choices = selectors.filter_choices(user=request.user, team_id=int(team) if team.isdigit() else None)
    form = FilterForm(request.GET or None, months=months, choices=choices)
    default = months[0] if months else metrics.month_start(timezone.localdate())
    if form.is_bound and form.is_valid():
        return form, form.filters(default)
    return form, selectors.Filters(month=default)


def _drill(filters: selectors.Filters, **extra: Any) -> str:
    return f"{reverse('reports:cases')}?{urlencode(filters.query(**extra))}"


def _names(filters: selectors.Filters, data: selectors.Dashboard) -> dict[str, str]:
    if filters.slice_by == "team_id":
        ids = [int(key) for key in data.slices["key"].to_list() if key is not None] if data.slices.height else []
        return {str(key): name for key, name in selectors.team_names(ids).items()}
    return {}


def _charts(data: selectors.Dashboard, buckets: list[str]) -> dict[str, Any]:
    filters = data.filters
    rates = [
        ("cure_rate", _("Cure rate")),
        ("right_party_contact_rate", _("Right-party contact rate")),
        ("visit_contact_rate", _("Visit contact rate")),
        ("promise_kept_rate", _("Promise-kept rate")),
    ]
    stage_of = {"cure_rate": "", "right_party_contact_rate": "right_party", "visit_contact_rate": "met",
                "promise_kept_rate": "kept"}
    trend = charts.line_chart(
        [
            charts.Series(
                label,
                [
                    charts.Point(
                        row["month"].strftime("%Y-%m"), row[key],
                        _drill(filters, month=row["month"].strftime("%Y-%m"), stage=stage_of[key],
                               end="cured" if key == "cure_rate" else ""),
                    )
                    for row in data.trend
                ],
            )
            for key, label in rates
        ],
        title=_("Rates month by month"), empty=_("No facts for these months yet."),
    )
    columns = metrics.roll_columns(buckets)
    cells = {
        (row["bucket_start"], row["bucket_end"]): charts.Cell(
            row["cases"], row["rate"], _drill(filters, start=row["bucket_start"], end=row["bucket_end"])
        )
        for row in (data.matrix.to_dicts() if data.matrix.height else [])
    }
    heat = charts.heat_map(
        buckets, columns, cells, title=_("Roll-rate matrix"),
        row_labels={code: code for code in buckets},
        column_labels={code: tables.state_label(code) for code in columns},
        caption=_("Rows: bucket on the first day of the month. Columns: where the cases stand at its end."),
    )
    curves = []
    for entry_month in sorted({row["entry_month"] for row in data.recovery.to_dicts()}):
        points = [
            charts.Point(f"+{row['months_since_entry']}", row["rate"],
                         _drill(filters, month=row["month"].strftime("%Y-%m"), entry=entry_month.strftime("%Y-%m"),
                                stage="payment"))
            for row in data.recovery.to_dicts() if row["entry_month"] == entry_month
        ]
        curves.append(charts.Series(entry_month.strftime("%Y-%m"), points))
    recovery = charts.line_chart(
        curves[-6:], title=_("Recovery by entry month (cumulative, by months since entry)"),
        empty=_("No recovery figures yet: no payments are recorded for these entry months."),
    )
    labels = tables.funnel_labels()
    funnel = charts.funnel_chart(
        [(labels[key], count, _drill(filters, stage=key)) for key, count in data.funnel],
        title=_("From notice to payment"), empty=_("No cases in this month."),
    )
    outcome_colours = {
        VisitResult.PAID: "#0b6e4f", VisitResult.PROMISE: "#38a169", VisitResult.PLAN_REQUESTED: "#2b6cb0",
        VisitResult.REFUSED: "#a0122f", VisitResult.NOT_HOME: "#b7791f", VisitResult.MOVED: "#6b46c1",
        VisitResult.WRONG_ADDRESS: "#4a5568",
    }
    legend = {str(key): (str(key.label), colour) for key, colour in outcome_colours.items()}
    results = {key: str(label) for key, label in VisitResult.choices}
    # One reverse() for thousands of dots: the case page's address differs only by the case id.
    case_url = reverse("portfolio:case_detail", args=[987654321]).replace("987654321", "{}")
    visit_map = charts.scatter_map(
        [
            (p.latitude, p.longitude, p.result, case_url.format(p.case_id),
             f"#{p.case_id} {results.get(p.result, p.result)}")
            for p in data.points
        ],
        legend=legend, title=_("Visits and their outcomes"), empty=_("No visits were carried out in this month."),
    )
    return {"trend_chart": trend, "heat_map": heat, "recovery_chart": recovery, "funnel_chart": funnel,
            "map_chart": visit_map}


def _headline(data: selectors.Dashboard) -> list[dict[str, Any]]:
    filters = data.filters
    stage = {"cure_rate": ("", "cured"), "right_party_contact_rate": ("right_party", ""),
             "visit_contact_rate": ("met", ""), "promise_kept_rate": ("kept", ""),
             "complaints_per_100_visits": ("complaint", ""), "cost_to_collect": ("payment", "")}
    tiles = []
    for key, label in tables.kpi_labels().items():
        ratio = data.kpis.get(key)
        if ratio is None:
            continue
        if key == "complaints_per_100_visits":
            value = "—" if ratio.value is None else f"{ratio.value:.1f}"
            detail = f"{ratio.numerator} / {ratio.denominator}"
        elif key == "cost_to_collect":
            value = tables.percent(ratio.value)
            detail = f"¥{tables.yuan(int(ratio.numerator)):,} / ¥{tables.yuan(int(ratio.denominator)):,}"
        else:
            value = tables.percent(ratio.value)
            detail = f"{ratio.numerator} / {ratio.denominator}"
        tiles.append({"key": key, "label": label, "value": value, "detail": detail,
                      "href": _drill(filters, stage=stage[key][0], end=stage[key][1])})
    return tiles


def _title(scope: selectors.Scope) -> str:
    return {
        "bank": _("Collections dashboard"),
        "teams": _("My teams' dashboard"),
        "collector": _("My results"),
    }[scope.kind]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    selectors.require_dashboards(request.user)
    form, filters = _filters(request)
    data = selectors.dashboard(user=request.user, filters=filters)
    buckets = facts.bucket_codes()
    names = _names(filters, data)
    all_tables = tables.all_tables(data, buckets, names)
    context = {
        "form": form,
        "data": data,
        "title": _title(data.scope),
        "tiles": _headline(data),
        "tables": all_tables,
        "query": urlencode(filters.query(slice=filters.slice_by)),
        "totals": data.totals,
        "collected": f"{tables.yuan(data.totals.get('collected_fen', 0)):,}" if data.totals else None,
        "drill_all": _drill(filters),
        **_charts(data, buckets),
    }
    return render(request, "reports/dashboard.html", context)


@login_required
def compliance(request: HttpRequest) -> HttpResponse:
    """Contacts, refusals and complaints: what a compliance officer watches."""
    selectors.require_dashboards(request.user)
    if not request.user.has_perm("compliance.view_compliance_reports"):
        raise Http404("no compliance dashboard for this user")
    form, filters = _filters(request)
    data = selectors.dashboard(user=request.user, filters=filters, with_map=False)
    totals = data.totals or {}
    refused_trend = sorted(data.by_month.items())
    chart = charts.line_chart(
        [
            charts.Series(_("Refused by the gate"), [
                charts.Point(m.strftime("%Y-%m"), c["refused"], _drill(filters, month=m.strftime("%Y-%m"), stage="refused"))
                for m, c in refused_trend]),
            charts.Series(_("Complaints"), [
                charts.Point(m.strftime("%Y-%m"), c["complaints"],
                             _drill(filters, month=m.strftime("%Y-%m"), stage="complaint"))
                for m, c in refused_trend]),
        ],
        title=_("Refused contacts and complaints, month by month"), empty=_("No facts for these months yet."),
        percent=False,
    )
    table = _channels_table(totals)
    return render(
        request,
        "reports/compliance.html",
        {"form": form, "data": data, "chart": chart, "channels": table, "tiles": _headline(data),
         "query": urlencode(filters.query()), "drill_refused": _drill(filters, stage="refused"),
         "drill_complaints": _drill(filters, stage="complaint"), "totals": totals},
    )


@login_required
def cases(request: HttpRequest) -> HttpResponse:
    """The cases behind a figure, each a link to its case page."""
    selectors.require_dashboards(request.user)
    form, filters = _filters(request)
    entry = request.GET.get("entry", "")
    try:
        entry_month = dt.datetime.strptime(entry, "%Y-%m").date() if entry else None
    except ValueError:
        entry_month = None
    rows = selectors.drill_cases(
        user=request.user, filters=filters, bucket_start=request.GET.get("start", ""),
        bucket_end=request.GET.get("end", ""), stage=request.GET.get("stage", ""), entry_month=entry_month,
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    facts_rows = list(page.object_list)
    found = selectors.cases_for(facts_rows)
    stage_labels = {**tables.funnel_labels(), "met": _("Met the borrower at a visit"), "kept": _("Kept a promise"),
                    "contact": _("Called or visited"), "right_party": _("Borrower reached"),
                    "complaint": _("Complained"), "refused": _("Contact refused by the gate")}
    describe = []
    if request.GET.get("start"):
        describe.append(_("at the start: %(state)s") % {"state": tables.state_label(request.GET["start"])})
    if request.GET.get("end"):
        describe.append(_("at the end: %(state)s") % {"state": tables.state_label(request.GET["end"])})
    if request.GET.get("stage") in stage_labels:
        describe.append(str(stage_labels[request.GET["stage"]]))
    if entry_month:
        describe.append(_("entered collection in %(month)s") % {"month": entry})
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "reports/cases.html",
        {"form": form, "filters": filters, "page": page, "rows": [(row, found.get(row.case_id)) for row in facts_rows],
         "describe": describe, "keep": keep.urlencode(), "state_label": tables.state_label,
         "back": f"{reverse('reports:dashboard')}?{urlencode(filters.query())}"},
    )


@login_required
def export(request: HttpRequest, table: str, fmt: str) -> HttpResponse:
    selectors.require_dashboards(request.user)
    _form, filters = _filters(request)
    if table == "channels":
        return compliance_export(request, fmt)
    data = selectors.dashboard(user=request.user, filters=filters, with_map=False)
    found = tables.all_tables(data, facts.bucket_codes(), _names(filters, data)).get(table)
    if found is None or fmt not in ("csv", "xlsx"):
        raise Http404("no such table")
    return _download(found, fmt, filters.month)


def _channels_table(totals: dict[str, int]) -> tables.ReportTable:
    channels = [
        (_("Calls"), totals.get("calls", 0)), (_("Visits"), totals.get("visits", 0)),
        (_("SMS"), totals.get("sms", 0)), (_("Letters"), totals.get("letters", 0)),
        (_("Refused by the gate"), totals.get("refused", 0)),
    ]
    return tables.ReportTable(
        "channels", _("Contacts by channel"), [_("Channel"), _("Count")], [[str(label), count] for label, count in channels]
    )


def compliance_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if not request.user.has_perm("compliance.view_compliance_reports") or fmt not in ("csv", "xlsx"):
        raise Http404("no such table")
    _form, filters = _filters(request)
    data = selectors.dashboard(user=request.user, filters=filters, with_map=False)
    return _download(_channels_table(data.totals or {}), fmt, filters.month)


def _download(table: tables.ReportTable, fmt: str, month: dt.date) -> HttpResponse:
    name = f"doorstep-{table.key}-{month:%Y-%m}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(tables.to_csv(table), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            tables.to_xlsx(table), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def glossary_page(request: HttpRequest) -> HttpResponse:
    selectors.require_dashboards(request.user)
    return render(
        request, "reports/glossary.html",
        {"entries": glossary.entries(), "costs": facts.unit_costs(), "buckets": facts.bucket_codes(),
         "point_in_time": glossary.POINT_IN_TIME},
    )


@login_required
def monthly(request: HttpRequest) -> HttpResponse:
    selectors.require_bank_reports(request.user)
    return render(
        request, "reports/monthly.html",
        {"reports": selectors.monthly_reports(), "months": selectors.available_months(),
         "can_generate": request.user.has_perm("reports.view_bank_reports")},
    )


@login_required
def monthly_download(request: HttpRequest, report_id: int) -> HttpResponse:
    selectors.require_bank_reports(request.user)
    report = get_object_or_404(MonthlyReport, pk=report_id)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="doorstep-monthly-{report.month:%Y-%m}-{report.language}.pdf"'
    return response


@login_required
@require_POST
def monthly_generate(request: HttpRequest) -> HttpResponse:
    selectors.require_bank_reports(request.user)
    try:
        month = dt.datetime.strptime(request.POST.get("month", ""), "%Y-%m").date()
    except ValueError:
        messages.error(request, _("Choose a month."))
        return redirect("reports:monthly")
    services.monthly_report_generate(actor=request.user, month=month)
    messages.success(request, _("The report for %(month)s is generated in both languages.") % {"month": f"{month:%Y-%m}"})
    return redirect("reports:monthly")
