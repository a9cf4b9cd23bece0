from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.arrangements.models import PlanKind, PromiseChannel, RequestSource

DATE = forms.DateInput(attrs={"type": "date"})
MONEY_INPUT = forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"})


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount promised"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                widget=MONEY_INPUT)
    due_on = forms.DateField(label=_("Promised date"), widget=DATE)
    channel = forms.ChoiceField(label=_("Taken by"), choices=PromiseChannel.choices, initial=PromiseChannel.CALL)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class PlanForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of plan"), choices=PlanKind.choices)
    first_due = forms.DateField(label=_("First (or only) due date"), widget=DATE)
    count = forms.IntegerField(label=_("Instalments"), min_value=1, max_value=60, initial=3)
    discount_percent = forms.DecimalField(
        label=_("Settlement discount (%)"), required=False, min_value=Decimal("0"), max_value=Decimal("99.99"),
        decimal_places=2, initial=Decimal("0"),
    )
    deferral_days = forms.IntegerField(label=_("Defer by (days)"), required=False, min_value=1, max_value=365)
    include_remaining_principal = forms.BooleanField(label=_("Include the principal not yet due"), required=False)
    waive_penalty = forms.BooleanField(label=_("Waive penalty interest"), required=False)
    waive_interest = forms.BooleanField(label=_("Waive overdue interest"), required=False)
    forbearance_note = forms.CharField(
        label=_("Forbearance considered"), required=False, max_length=500,
        help_text=_("The borrower's circumstances and why this plan is one they can keep."),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("kind") == PlanKind.DEFERRAL and not data.get("deferral_days"):
            self.add_error("deferral_days", _("A deferral needs a number of days."))
        return data


class PlanRequestForm(forms.Form):
    monthly_income = forms.DecimalField(label=_("Monthly income"), max_digits=14, decimal_places=2, min_value=0,
                                        widget=MONEY_INPUT)
    monthly_expenses = forms.DecimalField(label=_("Monthly expenses"), max_digits=14, decimal_places=2, min_value=0,
                                          widget=MONEY_INPUT)
    dependants = forms.IntegerField(label=_("Dependants"), min_value=0, max_value=20, initial=0)
    proposed_monthly = forms.DecimalField(label=_("Monthly amount the borrower offers"), required=False,
                                          max_digits=14, decimal_places=2, min_value=Decimal("0.01"), widget=MONEY_INPUT)
    source = forms.ChoiceField(label=_("Asked through"), choices=[
        (value, label) for value, label in RequestSource.choices if value != RequestSource.PORTAL
    ])
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note / reason"), required=False, max_length=500)
