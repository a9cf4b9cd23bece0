from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector, Team
from doorstep.compliance.models import Rule

MAX_REPORT_DAYS = 366


class ReportFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=Team.objects.all(), required=False, empty_label=_("All teams")
    )
    collector = forms.ModelChoiceField(
        label=_("Collector"), queryset=Collector.objects.select_related("user"), required=False,
        empty_label=_("All collectors"),
    )

    @staticmethod
    def defaults() -> dict[str, dt.date]:
        today = timezone.localdate()
        return {"since": today - dt.timedelta(days=30), "until": today}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                raise forms.ValidationError(_("The period must start before it ends."))
            if (until - since).days > MAX_REPORT_DAYS:
                raise forms.ValidationError(_("Choose a period of at most one year."))
        return data


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why this contact should go ahead"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000
    )


class RuleSetEditForm(forms.Form):
    """One row per rule: enabled, overridable and the parameters as JSON."""

    note = forms.CharField(label=_("What changed and why"), max_length=300)

    def __init__(self, *args: Any, rules: list[Rule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rules = rules
        for rule in rules:
            self.fields[f"enabled_{rule.pk}"] = forms.BooleanField(
                label=_("enabled"), required=False, initial=rule.enabled
            )
            self.fields[f"overridable_{rule.pk}"] = forms.BooleanField(
                label=_("a team lead may override"), required=False, initial=rule.overridable
            )
            self.fields[f"params_{rule.pk}"] = forms.CharField(
                label=_("parameters"),
                required=False,
                initial=json.dumps(rule.params, ensure_ascii=False, sort_keys=True),
                widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
            )

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "rule": rule,
                "enabled": self[f"enabled_{rule.pk}"],
                "overridable": self[f"overridable_{rule.pk}"],
                "params": self[f"params_{rule.pk}"],
            }
            for rule in self.rules
        ]

    def changes(self) -> dict[str, dict[str, Any]]:
        changes: dict[str, dict[str, Any]] = {}
        for rule in self.rules:
            raw = self.cleaned_data.get(f"params_{rule.pk}") or "{}"
            try:
                params = json.loads(raw)
            except json.JSONDecodeError as error:
                self.add_error(f"params_{rule.pk}", _("Not valid JSON: %(error)s") % {"error": error.msg})
                continue
            if not isinstance(params, dict):
                self.add_error(f"params_{rule.pk}", _("Parameters must be a JSON object."))
                continue
            changes[rule.rule_id] = {
                "enabled": self.cleaned_data.get(f"enabled_{rule.pk}", False),
                "overridable": self.cleaned_data.get(f"overridable_{rule.pk}", False),
                "params": params,
            }
        return changes
