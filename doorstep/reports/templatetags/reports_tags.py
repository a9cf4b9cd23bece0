from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from doorstep.reports.tables import ReportTable

register = template.Library()

# Up to this many columns a table becomes one card per row on a phone; wider ones scroll sideways.
STACK_COLUMNS = 6


@register.filter
def at(values: Sequence[object], index: int) -> object:
    """values[index], or "" past the end."""
    try:
        return values[index]
    except (IndexError, TypeError):
        return ""


@register.simple_tag
def report_table(table: ReportTable, query: str) -> SafeString:
    """A dashboard table with its CSV and Excel links. Built here rather than in a template: the
    productivity table alone has thousands of cells, and this is a hundred times faster."""
    key = escape(table.key)
    header = [escape(str(cell)) for cell in table.header]
    stack = len(header) <= STACK_COLUMNS
    parts = [
        f'<div class="table-head"><h2 id="table-{key}">{escape(str(table.title))}</h2>'
        f'<span class="exports">{escape(_("Export"))}: '
        f'<a href="{reverse("reports:export", args=[table.key, "csv"])}?{escape(query)}">CSV</a> '
        f'<a href="{reverse("reports:export", args=[table.key, "xlsx"])}?{escape(query)}">Excel</a></span></div>',
        f'<div class="table-wrap{"" if stack else " scroll"}"><table class="table compact{" stack" if stack else ""}" '
        f'aria-labelledby="table-{key}"><thead><tr>',
    ]
    parts += [f'<th{"" if index == 0 else " class=\"num\""}>{cell}</th>' for index, cell in enumerate(header)]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        cells = []
        for index, cell in enumerate(row):
            css = "primary-cell" if index == 0 else "num"
            label = header[index] if index < len(header) else ""
            cells.append(f'<td class="{css}" data-label="{label}">{escape(str(cell))}</td>')
        parts.append("<tr>" + "".join(cells) + "</tr>")
    if not table.rows:
        parts.append(
            f'<tr class="empty"><td colspan="{len(header)}">{escape(_("Nothing to show for this month."))}</td></tr>'
        )
    parts.append("</tbody></table></div>")
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped
