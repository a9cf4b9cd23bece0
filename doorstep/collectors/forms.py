"""Forms of the training and quality pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from doorstep.collectors.models import (
    QA_ITEM_MAX,
    AttendanceStatus,
    CertificateKind,
    ClassSession,
    Collector,
    Course,
    CourseModule,
    Exam,
    Material,
    QAItem,
    Question,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CourseForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["code", "title", "description", "kind", "certificate_kind", "validity_months", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"is_active": _("Open to collectors")}


class ModuleForm(forms.ModelForm):
    class Meta:
        model = CourseModule
        fields = ["position", "topic", "title"]


class MaterialForm(forms.ModelForm):
    class Meta:
        model = Material
        fields = ["position", "kind", "title", "body", "url", "file"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}


class QuestionForm(forms.ModelForm):
    """A question with up to five answers; the trainer marks the correct one."""

    answer_1 = forms.CharField(label=_("Answer A"), max_length=300)
    answer_2 = forms.CharField(label=_("Answer B"), max_length=300)
    answer_3 = forms.CharField(label=_("Answer C"), max_length=300, required=False)
    answer_4 = forms.CharField(label=_("Answer D"), max_length=300, required=False)
    answer_5 = forms.CharField(label=_("Answer E"), max_length=300, required=False)
    correct = forms.TypedChoiceField(
        label=_("Correct answer"), coerce=int, choices=[(index, "ABCDE"[index]) for index in range(5)],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Question
        fields = ["topic", "text", "explanation", "is_active"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3}), "explanation": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            for index, choice in enumerate(self.instance.choices.all()[:5]):
                self.initial[f"answer_{index + 1}"] = choice.text
                if choice.is_correct:
                    self.initial["correct"] = index

    def answers(self) -> list[str]:
        return [self.cleaned_data.get(f"answer_{index}") or "" for index in range(1, 6)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        correct = data.get("correct")
        if correct is not None and not (data.get(f"answer_{correct + 1}") or "").strip():
            self.add_error("correct", _("The correct answer must not be empty."))
        return data


class ExamForm(forms.ModelForm):
    class Meta:
        model = Exam
        fields = ["title", "question_count", "pass_mark", "attempts_allowed", "time_limit_minutes", "is_active"]
        labels = {"is_active": _("Open to collectors")}


class SessionForm(forms.ModelForm):
    class Meta:
        model = ClassSession
        fields = ["course", "starts_at", "ends_at", "place", "capacity"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", _("The session must end after it starts."))
        return data


class AttendanceForm(forms.Form):
    collector = forms.ModelChoiceField(label=_("Collector"), queryset=Collector.objects.none())
    status = forms.ChoiceField(label=_("Attendance"), choices=AttendanceStatus.choices)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = Collector.objects.filter(is_active=True).select_related("user")


class CertificateForm(forms.Form):
    collector = forms.ModelChoiceField(label=_("Collector"), queryset=Collector.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=CertificateKind.choices)
    number = forms.CharField(label=_("Certificate number"), max_length=64, required=False)
    issued_on = forms.DateField(label=_("Issued"), widget=DATE)
    expires_on = forms.DateField(label=_("Expires"), widget=DATE, required=False)
    document = forms.FileField(label=_("Document (scan or PDF)"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = Collector.objects.filter(is_active=True).select_related("user")


class EnrolForm(forms.Form):
    collector = forms.ModelChoiceField(label=_("Collector"), queryset=Collector.objects.none())
    due_on = forms.DateField(label=_("Due"), widget=DATE, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = Collector.objects.filter(is_active=True).select_related("user")


SCORE_CHOICES = [(2, _("Fully")), (1, _("Partly")), (0, _("Not done"))]


class QAReviewForm(forms.Form):
    """One score and one comment per checklist item, and an overall comment."""

    comment = forms.CharField(label=_("Overall comment"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for item, label in QAItem.choices:
            self.fields[f"score_{item}"] = forms.TypedChoiceField(
                label=label, coerce=int, choices=SCORE_CHOICES, widget=forms.RadioSelect
            )
            self.fields[f"comment_{item}"] = forms.CharField(
                label=_("Comment"), max_length=500, required=False,
                widget=forms.TextInput(attrs={"placeholder": _("What you heard or saw")}),
            )

    def items(self) -> list[tuple[str, str, forms.BoundField, forms.BoundField]]:
        return [(item, label, self[f"score_{item}"], self[f"comment_{item}"]) for item, label in QAItem.choices]

    def scores(self) -> dict[str, tuple[int, str]]:
        return {
            item: (min(int(self.cleaned_data[f"score_{item}"]), QA_ITEM_MAX), self.cleaned_data[f"comment_{item}"])
            for item in QAItem.values
        }


class SampleDrawForm(forms.Form):
    since = forms.DateField(label=_("Visits from"), widget=DATE)
    until = forms.DateField(label=_("to"), widget=DATE)
    share = forms.IntegerField(label=_("Random share (%)"), min_value=0, max_value=100, initial=5)
