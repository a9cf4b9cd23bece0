"""Forms of the collector's field app. They only check shapes; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.visits.field_selectors import Confirmation
from doorstep.visits.field_services import VisitRecord
from doorstep.visits.models import (
    Attitude,
    DelinquencyReason,
    NextAction,
    PersonMet,
    VisitResult,
    Willingness,
)


def _blank_first(choices: Any, label: str | Any = "—") -> list[tuple[str, Any]]:
    return [("", label), *choices]


class PositionForm(forms.Form):
    """A position from the browser (filled in by field.js); blank when the phone would not tell."""

    latitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput)
    longitude = forms.DecimalField(required=False, max_digits=10, decimal_places=6, widget=forms.HiddenInput)
    accuracy = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)


class CheckInForm(PositionForm):
    enters_residence = forms.BooleanField(label=_("We will go inside the home"), required=False)

    def __init__(self, *args: Any, confirmations: list[Confirmation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.confirmations = confirmations
        for item in confirmations:
            self.fields[f"confirm_{item.code}"] = forms.BooleanField(label=item.label, required=item.required)

    def confirmation_items(self) -> list[tuple[forms.BoundField, Confirmation]]:
        return [(self[f"confirm_{item.code}"], item) for item in self.confirmations]

    def given(self) -> dict[str, bool]:
        return {item.code: bool(self.cleaned_data.get(f"confirm_{item.code}")) for item in self.confirmations}


class RecordForm(forms.Form):
    person_met = forms.ChoiceField(label=_("Who did you meet?"), choices=PersonMet.choices, widget=forms.RadioSelect)
    attitude = forms.ChoiceField(label=_("Attitude"), choices=_blank_first(Attitude.choices), required=False)
    willingness = forms.ChoiceField(
        label=_("Willingness to pay"), choices=_blank_first(Willingness.choices), required=False
    )
    delinquency_reason = forms.ChoiceField(
        label=_("Reason for not paying"), choices=_blank_first(DelinquencyReason.choices), required=False
    )
    result = forms.ChoiceField(label=_("Result"), choices=VisitResult.choices, widget=forms.RadioSelect)
    promise_amount = forms.DecimalField(
        label=_("Amount promised (yuan)"), required=False, min_value=0, max_digits=15, decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    promise_due_on = forms.DateField(
        label=_("Promised by"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    next_action = forms.ChoiceField(
        label=_("Next action"), choices=_blank_first(NextAction.choices), required=False
    )
    follow_up_on = forms.DateField(
        label=_("Follow up on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def record(self) -> VisitRecord:
        data = self.cleaned_data
        return VisitRecord(
            person_met=data["person_met"],
            result=data["result"],
            attitude=data.get("attitude") or "",
            willingness=data.get("willingness") or "",
            delinquency_reason=data.get("delinquency_reason") or "",
            notes=data.get("notes") or "",
            next_action=data.get("next_action") or "",
            follow_up_on=data.get("follow_up_on"),
            promise_amount=data.get("promise_amount"),
            promise_due_on=data.get("promise_due_on"),
        )


class AttachmentForm(forms.Form):
    file = forms.FileField(
        label=_("Photo or recording"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,audio/*,application/pdf"}),
    )


class SosForm(PositionForm):
    visit = forms.IntegerField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(label=_("What is happening (optional)"), required=False, max_length=300)
