"""Writes of the reports app: refreshing the facts, and generating the monthly management report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from doorstep.core.audit import Actor, actor_fields, audit_record
from doorstep.core.pdf import Heading, NewPage, Picture, TableBlock, Text, pdf_render
from doorstep.reports import facts, metrics, pdf_charts, selectors, tables
from doorstep.reports.models import FactBuild, MonthlyReport

REPORT_LANGUAGES = ("zh-hans", "en")
TREND_KEYS = ("cure_rate", "right_party_contact_rate", "visit_contact_rate", "promise_kept_rate")


def facts_refresh(*, actor: Actor, business_date: dt.date) -> dict[str, Any]:
    """Build this month's facts as of `business_date`; finish last month's if they stop before its end."""
    month = metrics.month_start(business_date)
    built = []
    previous = metrics.previous_month(month)
    last_build = FactBuild.objects.filter(month=previous).order_by("-built_at", "-id").first()
    if last_build is not None and last_build.as_of < metrics.month_end(previous):
        build = facts.facts_build(actor=actor, month=previous, as_of=metrics.month_end(previous))
        built.append(build)
    built.append(facts.facts_build(actor=actor, month=month, as_of=business_date))
    with transaction.atomic():
        for build in built:
            audit_record(
                actor=actor, action="reports.facts.built", target=build,
                data={"month": build.month.isoformat(), "as_of": build.as_of.isoformat(), "cases": build.cases},
            )
    return {
        "months": [f"{build.month:%Y-%m}" for build in built],
        "cases": sum(build.cases for build in built),
        "seconds": round(sum(build.seconds for build in built), 2),
    }


def first_business_day(month: dt.date) -> dt.date:
    """The first weekday of the month (Monday to Friday)."""
    day = metrics.month_start(month)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def _report_blocks(data: selectors.Dashboard, buckets: list[str]) -> list[Any]:
    kpi = tables.kpi_table(data)
    blocks: list[Any] = [
        Text(
            _("Facts as of %(day)s. Cases in the month: %(cases)s. Amount collected: ¥%(collected)s.")
            % {
                "day": data.as_of.isoformat() if data.as_of else "—",
                "cases": f"{data.totals.get('cases', 0):,}",
                "collected": f"{tables.yuan(data.totals.get('collected_fen', 0)):,}",
            }
        ),
        Heading(kpi.title),
        TableBlock(kpi.header, kpi.rows, widths=(3, 1.2, 1.5, 1.5)),
    ]
    rates = {key: label for key, label in tables.kpi_labels().items() if key in TREND_KEYS}
    pictures = {} if not pdf_charts.can_draw(translation.get_language() or "en") else {
        "trend": Picture(pdf_charts.trend_png(data, rates)),
        "roll": Picture(pdf_charts.roll_png(
            data, buckets, {code: tables.state_label(code) for code in metrics.roll_columns(buckets)}
        )),
        "recovery": Picture(pdf_charts.recovery_png(data)),
    }
    for table in (
        tables.trend_table(data), tables.roll_table(data, buckets), tables.flow_table(data),
        tables.recovery_table(data), tables.funnel_table(data),
    ):
        blocks.append(Heading(table.title))
        if table.key in pictures:
            blocks.append(pictures[table.key])
        blocks.append(TableBlock(table.header, table.rows or [["—"] * len(table.header)]))
    productivity = tables.productivity_table(data)
    blocks += [
        NewPage(),
        Heading(productivity.title),
        TableBlock(productivity.header, list(productivity.rows)[:40] or [["—"] * len(productivity.header)]),
        Text(_("Definitions of every figure: the glossary page of the reports."), small=True),
    ]
    return blocks


def monthly_report_render(*, month: dt.date, language: str) -> bytes:
    month = metrics.month_start(month)
    data = selectors.dashboard_for(
        scope=selectors.Scope("bank"), filters=selectors.Filters(month=month), with_map=False
    )
    with translation.override(language):
        title = _("Monthly collections report %(month)s") % {"month": f"{month:%Y-%m}"}
        return pdf_render(
            title=title, blocks=_report_blocks(data, facts.bucket_codes()),
            footer=_("Doorstep · generated %(when)s") % {"when": timezone.localtime().strftime("%Y-%m-%d %H:%M")},
        )


def monthly_report_generate(*, actor: Actor, month: dt.date) -> list[MonthlyReport]:
    """Generate (or generate again) the month's report in each language and keep it in the archive.

    The month's facts are completed to its last day first, so the report reads the whole month.
    """
    month = metrics.month_start(month)
    end = min(metrics.month_end(month), timezone.localdate())
    if facts.latest_as_of(month) != end:
        facts.facts_build(actor=actor, month=month, as_of=end)
    documents = {language: monthly_report_render(month=month, language=language) for language in REPORT_LANGUAGES}
    kept = []
    with transaction.atomic():
        for language, pdf in documents.items():
            report, _created = MonthlyReport.objects.select_for_update().update_or_create(
                month=month, language=language,
                defaults={"pdf": pdf, "size_bytes": len(pdf), "as_of": end, "generated_at": timezone.now(),
                          "generated_by_label": actor_fields(actor)["actor_label"]},
            )
            kept.append(report)
            audit_record(actor=actor, action="reports.monthly_report.generated", target=report,
                         data={"month": f"{month:%Y-%m}", "language": language, "bytes": len(pdf)})
    return kept


def reports_step(run: Any, actor: Actor) -> dict[str, Any]:
    """The daily run's step: refresh the facts; on the first business day, last month's report."""
    summary = facts_refresh(actor=actor, business_date=run.business_date)
    month = metrics.month_start(run.business_date)
    previous = metrics.previous_month(month)
    if run.business_date == first_business_day(month) and not MonthlyReport.objects.filter(month=previous).exists():
        monthly_report_generate(actor=actor, month=previous)
        summary["monthly_report"] = f"{previous:%Y-%m}"
    return summary
