"""The audit log's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import DateInput


class AuditFilterForm(forms.Form):
    actor = forms.ModelChoiceField(
        label=_("操作人"), queryset=None, required=False, empty_label=_("全部")
    )
    action = forms.CharField(
        label=_("动作"),
        required=False,
        max_length=64,
        help_text=_("以此开头，如 firm. 为企业的全部变动"),
    )
    target_type = forms.CharField(
        label=_("对象类型"), required=False, max_length=64, help_text=_("如 contractors.firm")
    )
    target_id = forms.CharField(label=_("对象编号"), required=False, max_length=64)
    date_from = forms.DateField(label=_("日期自"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("至"), required=False, widget=DateInput())

    def __init__(self, data, *, actors, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["actor"].queryset = actors
        self.fields["actor"].label_from_instance = lambda user: (
            f"{user.full_name}（{user.username}）" if user.full_name else user.username
        )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        for name in ("action", "target_type", "target_id"):
            if name in data:
                data[name] = data[name].strip()
        return data

    def filters(self):
        """The selector's keyword arguments; none when the form is not valid."""
        if not self.is_valid():
            return {}
        return {name: self.cleaned_data[name] for name in self.fields}

    def query(self):
        """The filters as they were sent, for the export link and the pages."""
        return {name: value for name, value in self.data.items() if name in self.fields and value}
