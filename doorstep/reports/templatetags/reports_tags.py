from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from doorstep.reports.tables import ReportTable

register = template.Library()

# Up to this many columns a table fits a phone's width; wider ones scroll sideways with the first column
# kept in view (numbers compared across a row read better in a row than as stacked cards).
NARROW_COLUMNS = 3


@register.filter
def at(values: Sequence[object], index: int) -> object:
    """values[index], or "" past the end."""
    try:
        return values[index]
    except (IndexError, TypeError):
        return ""


def _is_number(cell: object) -> bool:
    if isinstance(cell, (int, Decimal, float)):
        return True
    return isinstance(cell, str) and (cell.endswith("%") or cell == "—")


@register.simple_tag
def report_table(table: ReportTable, query: str) -> SafeString:
    """A dashboard table with its CSV and Excel links. Built here rather than in a template: the
    productivity table alone has thousands of cells, and this is a hundred times faster."""
    key = escape(table.key)
    header = [escape(str(cell)) for cell in table.header]
    narrow = len(header) <= NARROW_COLUMNS
    parts = [
        f'<div class="table-head"><h2 id="table-{key}">{escape(str(table.title))}</h2>'
        f'<span class="exports">{escape(_("Export"))}: '
        f'<a href="{reverse("reports:export", args=[table.key, "csv"])}?{escape(query)}">CSV</a> '
        f'<a href="{reverse("reports:export", args=[table.key, "xlsx"])}?{escape(query)}">Excel</a></span></div>',
        f'<div class="table-wrap report-table"><table class="table compact{"" if narrow else " wide"}" '
        f'aria-labelledby="table-{key}"><thead><tr>',
    ]
    first = table.rows[0] if table.rows else ["", *[0] * (len(header) - 1)]
    numeric = [index > 0 and _is_number(first[index]) for index in range(len(header))]
    parts += [f'<th{" class=\"num\"" if numeric[index] else ""}>{cell}</th>' for index, cell in enumerate(header)]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        cells = []
        for index, cell in enumerate(row):
            css = "primary-cell" if index == 0 else "num" if index < len(numeric) and numeric[index] else ""
            label = header[index] if index < len(header) else ""
            shown = f"{cell:,.2f}" if isinstance(cell, Decimal) else f"{cell:,}" if isinstance(cell, int) else str(cell)
            cells.append(f'<td class="{css}" data-label="{label}">{escape(shown)}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    if not table.rows:
        parts.append(
            f'<tr class="empty"><td colspan="{len(header)}">{escape(_("Nothing to show for this month."))}</td></tr>'
        )
    parts.append("</tbody></table></div>")
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped
