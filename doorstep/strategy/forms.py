from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.strategy import rules as r
from doorstep.strategy.models import Script

STEP_ROWS = 4
CHANNEL_CHOICES = [
    ("", "—"),
    ("sms", _("SMS")),
    ("call", _("Call")),
    ("letter", _("Letter")),
    ("visit", _("Field visit")),
    ("legal", _("Legal review")),
]


class StrategyCreateForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=50)
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class RuleForm(forms.Form):
    """A rule: a name, a condition in the rule language, and up to four treatment steps."""

    name = forms.CharField(label=_("Name"), max_length=100)
    condition = forms.CharField(
        label=_("Condition"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_(
            "For example: bucket in (M2, M3) and overdue_amount >= 5000 and not do_not_visit. Empty: every case."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scripts = [
            ("", "—"),
            *(
                (s.code, f"{s.code} · {s.title_zh} / {s.title_en}")
                for s in Script.objects.filter(is_active=True)
            ),
        ]
        for index in range(1, STEP_ROWS + 1):
            self.fields[f"step{index}_channel"] = forms.ChoiceField(
                label=_("Channel"), choices=CHANNEL_CHOICES, required=index == 1
            )
            self.fields[f"step{index}_day"] = forms.IntegerField(
                label=_("Day"), min_value=0, max_value=365, required=False
            )
            self.fields[f"step{index}_every"] = forms.IntegerField(
                label=_("Repeat every (days)"), min_value=0, max_value=365, required=False
            )
            self.fields[f"step{index}_script"] = forms.ChoiceField(
                label=_("Script"), choices=scripts, required=False
            )
            self.fields[f"step{index}_priority"] = forms.IntegerField(
                label=_("Priority"), min_value=1, max_value=5, required=False, initial=3
            )

    def step_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"step{index}_{part}"] for part in ("channel", "day", "every", "script", "priority")]
            for index in range(1, STEP_ROWS + 1)
        ]

    def clean_condition(self) -> str:
        text = self.cleaned_data["condition"].strip()
        try:
            return r.format_condition(r.parse_condition(text))
        except r.RuleError as error:
            raise forms.ValidationError(str(error)) from error

    def steps(self) -> list[dict[str, Any]]:
        steps = []
        for index in range(1, STEP_ROWS + 1):
            channel = self.cleaned_data.get(f"step{index}_channel")
            if not channel:
                continue
            steps.append(
                {
                    "channel": channel,
                    "day": self.cleaned_data.get(f"step{index}_day") or 0,
                    "every": self.cleaned_data.get(f"step{index}_every") or 0,
                    "script": self.cleaned_data.get(f"step{index}_script") or "",
                    "priority": self.cleaned_data.get(f"step{index}_priority") or 3,
                }
            )
        return steps

    @classmethod
    def initial_for(cls, rule: dict[str, Any]) -> dict[str, Any]:
        parsed = r.rule_from_json(rule)
        initial: dict[str, Any] = {"name": parsed.name, "condition": r.format_condition(parsed.condition)}
        for index, step in enumerate(parsed.steps[:STEP_ROWS], start=1):
            initial.update(
                {
                    f"step{index}_channel": step.channel,
                    f"step{index}_day": step.day,
                    f"step{index}_every": step.every,
                    f"step{index}_script": step.script,
                    f"step{index}_priority": step.priority,
                }
            )
        return initial


class ExperimentForm(forms.Form):
    test_id = forms.SlugField(
        label=_("Test id"), max_length=50, required=False, help_text=_("Empty: no test.")
    )
    holdout_share = forms.IntegerField(
        label=_("Hold-out share (basis points)"),
        min_value=0,
        max_value=2000,
        initial=0,
        help_text=_("100 basis points: one case in a hundred gets no field visits."),
    )
    challenger_version = forms.IntegerField(label=_("Challenger: version id"), required=False, min_value=1)
    challenger_share = forms.IntegerField(
        label=_("Challenger share (basis points)"), required=False, min_value=1, max_value=5000
    )


class RunForm(forms.Form):
    business_date = forms.DateField(label=_("Business date"), widget=forms.DateInput(attrs={"type": "date"}))
