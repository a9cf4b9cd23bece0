from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import Collector
from doorstep.visits.models import BorrowerResponse, Crew, ResponseChannel

REASON = {"label": _("Reason"), "max_length": 300, "widget": forms.TextInput(attrs={"autocomplete": "off"})}


class ReasonForm(forms.Form):
    reason = forms.CharField(**REASON)  # type: ignore[arg-type]


class MoveForm(forms.Form):
    new_window_start = forms.TypedChoiceField(label=_("New time"), choices=())
    reason = forms.CharField(**REASON)  # type: ignore[arg-type]

    def __init__(self, *args: object, slots: list[tuple[dt.datetime, dt.datetime]], zone: dt.tzinfo,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.slots = {start.isoformat(): start for start, _end in slots}
        self.fields["new_window_start"].choices = [  # type: ignore[attr-defined]
            (start.isoformat(), f"{start.astimezone(zone):%Y-%m-%d %H:%M}–{end.astimezone(zone):%H:%M}")
            for start, end in slots
        ]

    def clean_new_window_start(self) -> dt.datetime:
        return self.slots[self.cleaned_data["new_window_start"]]


class ReassignForm(forms.Form):
    crew = forms.ModelChoiceField(label=_("Crew"), queryset=Crew.objects.none(), empty_label=_("Choose a crew"))
    reason = forms.CharField(**REASON)  # type: ignore[arg-type]

    def __init__(self, *args: object, crews: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["crew"].queryset = crews  # type: ignore[attr-defined]


class CaseReassignForm(forms.Form):
    collector = forms.ModelChoiceField(
        label=_("Collector"), queryset=Collector.objects.none(), empty_label=_("Choose a collector"),
        help_text=_("Only collectors whose certificates are valid today are listed; they must also work the "
                    "borrower's territory."))
    reason = forms.CharField(**REASON)  # type: ignore[arg-type]

    def __init__(self, *args: object, collectors: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["collector"].queryset = collectors  # type: ignore[attr-defined]


ANSWERS = [(value, label) for value, label in BorrowerResponse.choices if value != BorrowerResponse.PENDING
           and value != BorrowerResponse.RESCHEDULED]


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(label=_("The borrower's answer"), choices=ANSWERS)
    channel = forms.ChoiceField(label=_("Answered via"), choices=[
        (ResponseChannel.PHONE, ResponseChannel.PHONE.label), (ResponseChannel.IN_PERSON, ResponseChannel.IN_PERSON.label)])
    note = forms.CharField(label=_("Note (why, if declined)"), max_length=300, required=False)
