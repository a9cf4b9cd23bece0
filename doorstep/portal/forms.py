from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doorstep.feedback.models import ComplaintCategory

MAX_COMPLAINT_FILES = 3


class IdSuffixForm(forms.Form):
    id_suffix = forms.CharField(
        label=_("Last 4 characters of your ID card number"),
        min_length=4,
        max_length=4,
        validators=[RegexValidator(r"^[0-9Xx]{4}$", _("Enter 4 digits (the last may be X)."))],
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters", "spellcheck": "false",
                   "pattern": "[0-9Xx]{4}", "size": "6"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from the SMS"),
        min_length=6,
        max_length=6,
        validators=[RegexValidator(r"^\d{6}$", _("Enter the 6 digits."))],
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}", "size": "8"}
        ),
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Why does this visit not suit you?"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def slot_label(start: dt.datetime, end: dt.datetime, zone: dt.tzinfo) -> str:
    start, end = start.astimezone(zone), end.astimezone(zone)
    return f"{formats.date_format(start, 'DATE_FORMAT')} ({formats.date_format(start, 'l')}) {start:%H:%M}–{end:%H:%M}"


class MoveForm(forms.Form):
    slot = forms.ChoiceField(label=pgettext_lazy("portal", "New time"), widget=forms.RadioSelect)

    def __init__(self, *args: Any, slots: list[tuple[dt.datetime, dt.datetime]], zone: dt.tzinfo, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.slots = {start.isoformat(): start for start, _end in slots}
        self.fields["slot"].choices = [(start.isoformat(), slot_label(start, end, zone)) for start, end in slots]

    def chosen(self) -> dt.datetime:
        return self.slots[self.cleaned_data["slot"]]


class BadgeForm(forms.Form):
    badge_number = forms.CharField(
        label=pgettext_lazy("portal", "Badge number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class PlanRequestForm(forms.Form):
    monthly_income = forms.DecimalField(
        label=_("Your household's income each month (yuan)"), min_value=Decimal("0"), max_digits=12, decimal_places=2
    )
    monthly_expenses = forms.DecimalField(
        label=_("Essential spending each month: rent, food, transport, school (yuan)"),
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
    )
    dependants = forms.IntegerField(label=_("People who depend on you"), min_value=0, max_value=20, initial=0)
    proposed_monthly = forms.DecimalField(
        label=_("What you could pay each month (optional)"),
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
    )
    note = forms.CharField(
        label=_("Anything else we should know (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


STAR_CHOICES = [(str(stars), str(stars)) for stars in range(5, 0, -1)]


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(label=_("Your rating"), choices=STAR_CHOICES, coerce=int, widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment (optional)"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,audio/*,application/pdf,text/plain"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        if len(files) > MAX_COMPLAINT_FILES:
            raise forms.ValidationError(_("Attach at most %(count)d files.") % {"count": MAX_COMPLAINT_FILES})
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=ComplaintCategory.choices)
    visit = forms.TypedChoiceField(label=_("Which visit (if it is about one)"), required=False, coerce=int,
                                   empty_value=None)
    text = forms.CharField(
        label=_("What happened?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5})
    )
    attachments = MultipleFileField(label=_("Photos, recordings or documents (optional)"), required=False)

    def __init__(self, *args: Any, visits: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["visit"].choices = [("", _("Not about a visit")), *visits]
