from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

ENCODINGS = [("", _("Detect")), ("utf-8", "UTF-8"), ("gbk", "GBK"), ("gb18030", "GB18030")]


class PaymentsUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Payments file"),
        help_text=_("CSV or Parquet, in the payments format (txn_id, loan_id, amount, paid_at, channel…)."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.parquet"}),
    )
    encoding = forms.ChoiceField(label=_("Encoding (CSV only)"), required=False, choices=ENCODINGS)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not (upload.name or "").lower().endswith((".csv", ".parquet")):
            raise forms.ValidationError(_("Choose a .csv or .parquet file."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
