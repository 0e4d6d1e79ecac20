"""Widgets and fields that every app's forms share: dates, times, a period filter."""

from django import forms
from django.utils.translation import gettext_lazy as _


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        # The browser's date picker exchanges ISO dates whatever the page's language.
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PeriodFilterForm(forms.Form):
    """Lists reached from the dashboard's figures take its period as `from` and `to`, names
    that are Python keywords, so the fields are added by name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        widget = forms.DateInput(attrs={"type": "date"})
        self.fields["from"] = forms.DateField(label=_("检查日期自"), required=False, widget=widget)
        self.fields["to"] = forms.DateField(label=_("至"), required=False, widget=widget)

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("to") and data["from"] > data["to"]:
            self.add_error("to", _("结束日期不能早于开始日期。"))
        return data

    def period(self):
        return {"date_from": self.cleaned_data.get("from"), "date_to": self.cleaned_data.get("to")}
