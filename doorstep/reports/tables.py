"""The tables of the dashboards, as plain header + rows: shown on the page, exported as CSV or Excel,
and printed in the monthly report. One builder per table, so all three always agree."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from doorstep.reports import metrics
from doorstep.reports.selectors import Dashboard


@dataclass(frozen=True)
class ReportTable:
    key: str
    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def yuan(fen: int | None) -> Decimal:
    return metrics.fen_to_yuan(fen)


def state_label(code: str) -> str:
    labels = {
        metrics.NEW: _("New this month"),
        metrics.CURRENT: _("Nothing overdue"),
        metrics.CURED: _("Cured"),
        metrics.CLOSED: _("Closed"),
        metrics.WRITTEN_OFF: _("Written off"),
    }
    return str(labels.get(code, code))


def kpi_labels() -> dict[str, str]:
    return {
        "cure_rate": _("Cure rate"),
        "right_party_contact_rate": _("Right-party contact rate"),
        "visit_contact_rate": _("Visit contact rate"),
        "promise_kept_rate": _("Promise-kept rate"),
        "cost_to_collect": _("Cost to collect"),
        "complaints_per_100_visits": _("Complaints per 100 visits"),
    }


def kpi_table(data: Dashboard) -> ReportTable:
    rows = []
    for key, label in kpi_labels().items():
        ratio = data.kpis.get(key)
        if ratio is None:
            continue
        if key == "cost_to_collect":
            numerator, denominator = yuan(int(ratio.numerator)), yuan(int(ratio.denominator))
            value = percent(ratio.value)
        elif key == "complaints_per_100_visits":
            numerator, denominator = ratio.numerator, ratio.denominator
            value = "—" if ratio.value is None else f"{ratio.value:.2f}"
        else:
            numerator, denominator, value = ratio.numerator, ratio.denominator, percent(ratio.value)
        rows.append([label, value, numerator, denominator])
    return ReportTable("kpis", _("Headline rates"), [_("Metric"), _("Value"), _("Numerator"), _("Denominator")], rows)


def roll_table(data: Dashboard, buckets: Sequence[str]) -> ReportTable:
    columns = metrics.roll_columns(buckets)
    cells = {(row["bucket_start"], row["bucket_end"]): row for row in data.matrix.to_dicts()}
    rows = []
    for start in buckets:
        total = next((row["total"] for (s, _e), row in cells.items() if s == start), 0)
        rows.append(
            [start, total, *[percent(cells[(start, end)]["rate"]) if (start, end) in cells else "" for end in columns]]
        )
    return ReportTable(
        "roll", _("Roll rates, start of month → end of month"),
        [_("From"), _("Cases"), *[state_label(code) for code in columns]], rows,
    )


def flow_table(data: Dashboard) -> ReportTable:
    rows = [
        [row["bucket"], row["cases"], row["forward_cases"], percent(row["forward"]), percent(row["to_write_off"])]
        for row in data.flows.to_dicts()
    ]
    return ReportTable(
        "flow", _("Flow to write-off"),
        [_("Bucket"), _("Cases at the start"), _("Rolled forward"), _("Forward roll rate"), _("Flow rate to write-off")],
        rows,
    )


def recovery_table(data: Dashboard) -> ReportTable:
    rows = [
        [row["entry_month"].strftime("%Y-%m"), row["months_since_entry"], yuan(row["entry_overdue_fen"]),
         yuan(row["collected_fen"]), percent(row["rate"])]
        for row in data.recovery.to_dicts()
    ]
    return ReportTable(
        "recovery", _("Recovery by entry month"),
        [_("Entry month"), _("Months since entry"), _("Overdue at entry"), _("Collected to date"), _("Recovery rate")],
        rows,
    )


def funnel_table(data: Dashboard) -> ReportTable:
    labels = funnel_labels()
    return ReportTable(
        "funnel", _("From notice to payment"), [_("Stage"), _("Cases")],
        [[labels[key], count] for key, count in data.funnel],
    )


def funnel_labels() -> dict[str, str]:
    return {"notice": _("Visit notice sent"), "visit": _("Visited"), "promise": _("Promise made"),
            "payment": _("Paid")}


def slice_table(data: Dashboard, names: dict[str, str]) -> ReportTable:
    rows = []
    for row in data.slices.to_dicts():
        key = row["key"]
        label = names.get(str(key), state_label(str(key)) if key is not None else _("None"))
        rows.append(
            [
                label,
                row["cases"],
                percent(metrics.Ratio(row["cured"], row["in_bucket"]).value),
                percent(metrics.Ratio(row["right_party"], row["contacts"]).value),
                row["visits"],
                percent(metrics.Ratio(row["visits_met"], row["visits"]).value),
                percent(metrics.Ratio(row["promises_kept"], row["promises_due"]).value),
                row["complaints"],
                yuan(row["collected_fen"]),
            ]
        )
    return ReportTable(
        "slices", _("By slice"),
        [_("Slice"), _("Cases"), _("Cure rate"), _("Right-party contact rate"), _("Visits"), _("Visit contact rate"),
         _("Promise-kept rate"), _("Complaints"), _("Collected")],
        rows,
    )


def productivity_table(data: Dashboard) -> ReportTable:
    rows = [
        [row["name"], row["badge"], row["team"], row["cases"], row["visits"], percent(row["visit_contact_rate"]),
         row["contacts"], percent(row["rpc_rate"]), row["promises_made"], percent(row["kept_rate"]),
         row["collected"], row["collected_per_visit"] if row["collected_per_visit"] is not None else "—"]
        for row in data.productivity
    ]
    return ReportTable(
        "productivity", _("Collector productivity"),
        [_("Collector"), _("Badge"), _("Team"), _("Cases"), _("Visits"), _("Visit contact rate"), _("Calls and visits"),
         _("Right-party contact rate"), _("Promises"), _("Promise-kept rate"), _("Collected"), _("Collected per visit")],
        rows,
    )


def trend_table(data: Dashboard) -> ReportTable:
    rows = [
        [row["month"].strftime("%Y-%m"), percent(row["cure_rate"]), percent(row["right_party_contact_rate"]),
         percent(row["visit_contact_rate"]), percent(row["promise_kept_rate"]), yuan(row["collected_fen"])]
        for row in data.trend
    ]
    return ReportTable(
        "trend", _("Month by month"),
        [_("Month"), _("Cure rate"), _("Right-party contact rate"), _("Visit contact rate"), _("Promise-kept rate"),
         _("Collected")],
        rows,
    )


def all_tables(data: Dashboard, buckets: Sequence[str], names: dict[str, str]) -> dict[str, ReportTable]:
    builders: list[Callable[[], ReportTable]] = [
        lambda: kpi_table(data), lambda: trend_table(data), lambda: roll_table(data, buckets),
        lambda: flow_table(data), lambda: recovery_table(data), lambda: funnel_table(data),
        lambda: slice_table(data, names), lambda: productivity_table(data),
    ]
    return {table.key: table for table in (build() for build in builders)}


def to_csv(table: ReportTable) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.header)
    writer.writerows([[str(cell) for cell in row] for row in table.rows])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: ReportTable) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(table.key[:31])
    bold = workbook.add_format({"bold": True, "bg_color": "#e8edf2"})
    money = workbook.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, [str(cell) for cell in table.header], bold)
    for index, row in enumerate(table.rows, start=1):
        for column, cell in enumerate(row):
            if isinstance(cell, Decimal):
                sheet.write_number(index, column, float(cell), money)
            elif isinstance(cell, int):
                sheet.write_number(index, column, cell)
            else:
                sheet.write_string(index, column, str(cell))
    sheet.set_column(0, len(table.header) - 1, 16)
    workbook.close()
    return buffer.getvalue()
