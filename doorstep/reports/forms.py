from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.reports.selectors import Filters

SLICE_CHOICES = [
    ("branch_code", _("Branch")),
    ("team_id", _("Team")),
    ("product_code", _("Product")),
    ("bucket", _("Bucket")),
    ("strategy", _("Strategy")),
    ("arm", _("Test arm")),
]


class FilterForm(forms.Form):
    month = forms.ChoiceField(label=_("Month"), required=False)
    branch = forms.ChoiceField(label=_("Branch"), required=False)
    team = forms.ChoiceField(label=_("Team"), required=False)
    collector = forms.ChoiceField(label=_("Collector"), required=False)
    product = forms.ChoiceField(label=_("Product"), required=False)
    bucket = forms.ChoiceField(label=_("Bucket at the start"), required=False)
    strategy = forms.ChoiceField(label=_("Strategy"), required=False)
    arm = forms.ChoiceField(label=_("Test arm"), required=False)
    slice = forms.ChoiceField(label=_("Compare by"), required=False, choices=SLICE_CHOICES)

    def __init__(self, *args: Any, months: list[dt.date], choices: dict[str, list[tuple[str, str]]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["month"].choices = [(month.strftime("%Y-%m"), month.strftime("%Y-%m")) for month in months]
        for name in ("branch", "team", "collector", "product", "bucket", "strategy", "arm"):
            self.fields[name].choices = every + choices.get(name, [])
        if len(choices.get("team", [])) <= 1 and len(choices.get("collector", [])) <= 1:
            # A collector sees their own figures only: nothing to choose.
            del self.fields["collector"]
            del self.fields["team"]
        elif not choices.get("collector"):
            self.fields["collector"].help_text = _("Choose a team first.")

    def filters(self, default_month: dt.date) -> Filters:
        data = self.cleaned_data
        month = dt.datetime.strptime(data["month"], "%Y-%m").date() if data.get("month") else default_month
        return Filters(
            month=month,
            branch_code=data.get("branch") or "",
            team_id=int(data["team"]) if data.get("team") else None,
            collector_id=int(data["collector"]) if data.get("collector") else None,
            product_code=data.get("product") or "",
            bucket=data.get("bucket") or "",
            strategy=data.get("strategy") or "",
            arm=data.get("arm") or "",
            slice_by=data.get("slice") or "branch_code",
        )
