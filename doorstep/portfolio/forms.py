"""Forms of the staff pages: the case-list filter and the snapshot upload."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
from doorstep.portfolio.models import CaseStatus
from doorstep.portfolio.selectors import CASE_SORTS, DEFAULT_CASE_SORT, CaseFilters

SORT_LABELS = {
    "-dpd": _("Days past due, most first"),
    "dpd": _("Days past due, fewest first"),
    "-overdue": _("Overdue amount, largest first"),
    "overdue": _("Overdue amount, smallest first"),
    "-opened": _("Opened, newest first"),
    "opened": _("Opened, oldest first"),
    "name": _("Borrower name, A to Z"),
    "-name": _("Borrower name, Z to A"),
}
SNAPSHOT_SUFFIXES = (".csv", ".parquet")
SNAPSHOT_ENCODINGS = [
    ("", _("Detect automatically (UTF-8 with or without BOM, else GB18030)")),
    ("utf-8", "UTF-8"),
    ("gbk", "GBK"),
    ("gb18030", "GB18030"),
]


class CollectorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Collector) -> str:  # type: ignore[override]
        return f"{obj.display_name} · {obj.badge_number}"


class CaseFilterForm(forms.Form):
    """The case list's filters, read from the query string; every field may be left empty."""

    query = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, customer number or loan number")}
        ),
    )
    bucket = forms.ChoiceField(label=_("Bucket"), required=False)
    dpd_min = forms.IntegerField(
        label=_("Days past due from"),
        required=False,
        validators=[MinValueValidator(0), MaxValueValidator(100000)],
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
    )
    dpd_max = forms.IntegerField(
        label=_("to"),
        required=False,
        validators=[MinValueValidator(0), MaxValueValidator(100000)],
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
    )
    branch = forms.ChoiceField(label=_("Branch"), required=False)
    collector = CollectorChoiceField(
        label=_("Collector"), required=False, queryset=Collector.objects.none(), empty_label=_("Any collector")
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *CaseStatus.choices]
    )
    sort = forms.ChoiceField(
        label=_("Sort by"), required=False, choices=[(key, SORT_LABELS[key]) for key in CASE_SORTS]
    )

    def __init__(self, *args: Any, collectors: Any, branches: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["bucket"].choices = [("", _("Any bucket"))] + [  # type: ignore[attr-defined]
            (code, code) for code, _first, _last in settings.DOORSTEP_BUCKETS
        ]
        self.fields["branch"].choices = [("", _("Any branch"))] + [  # type: ignore[attr-defined]
            (code, code) for code in branches
        ]
        self.fields["collector"].queryset = collectors  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("dpd_min"), cleaned.get("dpd_max")
        if low is not None and high is not None and low > high:
            # add_error drops dpd_max; an inverted range means neither bound was meant as typed.
            self.add_error("dpd_max", _("The upper bound must not be below the lower bound."))
            cleaned.pop("dpd_min", None)
        return cleaned

    def chosen_filters(self) -> CaseFilters:
        """The filters that passed validation; a field with an error narrows nothing."""
        data = getattr(self, "cleaned_data", {})
        collector = data.get("collector")
        return CaseFilters(
            bucket=data.get("bucket") or "",
            dpd_min=data.get("dpd_min"),
            dpd_max=data.get("dpd_max"),
            branch_code=data.get("branch") or "",
            collector_id=collector.pk if collector is not None else None,
            status=data.get("status") or "",
            query=data.get("query") or "",
        )

    def chosen_sort(self) -> str:
        data = getattr(self, "cleaned_data", {})
        return data.get("sort") or DEFAULT_CASE_SORT


class SnapshotUploadForm(forms.Form):
    """A snapshot file from the core banking system, to be imported in the background."""

    file = forms.FileField(
        label=_("Snapshot file"),
        help_text=_("CSV or Parquet, in the overdue-loan snapshot format."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet"}),
    )
    snapshot_date = forms.DateField(
        label=_("Snapshot date"),
        required=False,
        help_text=_("Leave empty to take the date from the file."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    encoding = forms.ChoiceField(
        label=_("Encoding (CSV only)"), required=False, choices=SNAPSHOT_ENCODINGS
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(SNAPSHOT_SUFFIXES):
            raise forms.ValidationError(_("Choose a .csv or .parquet file."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
