"""The forms of the pages of inspections (start, answer the checklist, submit, accept or return)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from contractors.inspections.models import ChecklistAnswer, Inspection
from portal.forms import DateInput, PeriodFilterForm, TimeInput


class StaffChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, user):
        return user.full_name or user.username


class InspectionStartForm(forms.Form):
    kind = forms.ChoiceField(label=_("检查类型"), choices=Inspection.Kind.choices)
    campaign = forms.CharField(
        label=_("专项整治名称"),
        required=False,
        max_length=128,
        help_text=_("专项检查时填写，例如“危险化学品专项整治”。"),
    )
    inspected_on = forms.DateField(label=_("检查日期"), widget=DateInput())
    time_from = forms.TimeField(label=_("开始时间"), required=False, widget=TimeInput())
    time_to = forms.TimeField(label=_("结束时间"), required=False, widget=TimeInput())
    # Not required here: the service says how many inspectors it takes, in one place.
    inspectors = StaffChoiceField(
        label=_("检查人员"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("检查人员必须是本机构的检查员或负责人。")},
    )
    firm_representative = forms.CharField(label=_("企业在场人员姓名"), max_length=64)
    firm_representative_post = forms.CharField(label=_("职务"), required=False, max_length=64)
    firm_representative_phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    place = forms.CharField(label=_("检查场所"), required=False, max_length=255)
    # Floats: a phone reports more decimals than are kept; the service rounds and range-checks.
    latitude = forms.FloatField(
        label=_("纬度"), required=False, widget=forms.NumberInput(attrs={"step": "any"})
    )
    longitude = forms.FloatField(
        label=_("经度"), required=False, widget=forms.NumberInput(attrs={"step": "any"})
    )

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspectors"].queryset = staff

    def service_arguments(self):
        data = dict(self.cleaned_data)
        data["inspectors"] = list(data["inspectors"])
        return data


class AnswerForm(forms.Form):
    item = forms.ModelChoiceField(
        queryset=None, error_messages={"invalid_choice": _("该检查项不属于本次检查。")}
    )
    answer = forms.ChoiceField(choices=ChecklistAnswer.Answer.choices)
    note = forms.CharField(required=False, max_length=255)

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = items


class InspectionFilterForm(PeriodFilterForm):
    agency = forms.ModelChoiceField(
        label=_("服务机构"), queryset=None, required=False, empty_label=_("全部机构")
    )
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("全部街道镇")
    )
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部"))] + Inspection.Status.choices
    )

    def __init__(self, *args, streets=None, agencies=None, **kwargs):
        """`streets`, `agencies`: what to filter by, None for no such filter (a firm user has
        one street; only bureau staff choose an agency)."""
        super().__init__(*args, **kwargs)
        if streets is None:
            del self.fields["street"]
        else:
            self.fields["street"].queryset = streets
        if agencies is None:
            del self.fields["agency"]
        else:
            self.fields["agency"].queryset = agencies
