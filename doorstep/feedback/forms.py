from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from doorstep.collectors.models import Team
from doorstep.feedback.models import ComplaintCategory, ComplaintChannel, ComplaintOutcome, ComplaintStatus

STATUS_FILTERS = [("open", pgettext_lazy("complaint", "Open")), ("", _("All")), *ComplaintStatus.choices]
STAFF_CHANNELS = [choice for choice in ComplaintChannel.choices if choice[0] != ComplaintChannel.PORTAL]


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100,
                        widget=forms.TextInput(attrs={"placeholder": _("Name, badge, case or reference")}))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTERS, required=False, initial="open")
    category = forms.ChoiceField(label=_("Category"), choices=[("", _("All")), *ComplaintCategory.choices],
                                 required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                                  empty_label=_("All teams"))
    mine = forms.BooleanField(label=_("Mine only"), required=False)
    breached = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args: Any, teams: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*,audio/*,video/*,application/pdf,text/plain"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class ComplaintLogForm(forms.Form):
    """A complaint received by phone, at a branch or by letter, logged by staff."""

    case = forms.IntegerField(label=_("Case number"), min_value=1)
    channel = forms.ChoiceField(label=_("Received by"), choices=STAFF_CHANNELS)
    received_at = forms.DateTimeField(
        label=_("Received at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    category = forms.ChoiceField(label=_("What it is about"), choices=ComplaintCategory.choices)
    visit = forms.IntegerField(label=_("Visit number (if about a visit)"), min_value=1, required=False)
    text = forms.CharField(label=_("What the borrower said"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(label=_("Attachments (letter scan, photos, recordings)"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_received_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["received_at"]
        if value > timezone.now():
            raise forms.ValidationError(_("The time of receipt cannot be in the future."))
        return value


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), min_length=10, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=pgettext_lazy("complaint", "Outcome"), choices=ComplaintOutcome.choices, widget=forms.RadioSelect)
    resolution = forms.CharField(label=_("Decision sent to the borrower"), min_length=10, max_length=5000,
                                 widget=forms.Textarea(attrs={"rows": 4}))


class AssignForm(forms.Form):
    handler = forms.ChoiceField(label=_("Handler"))

    def __init__(self, *args: Any, handlers: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handlers = {str(user.pk): user for user in handlers}
        self.fields["handler"].choices = [
            (str(user.pk), user.get_full_name() or user.get_username()) for user in handlers
        ]


class DashboardFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False,
                                  empty_label=_("All teams"))

    def __init__(self, *args: Any, teams: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The period must start before it ends."))
        if since and until and (until - since).days > 366:
            raise forms.ValidationError(_("Choose a period of at most a year."))
        return data
