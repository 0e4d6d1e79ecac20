"""The forms of the pages of tenancy (agencies, contracts, assignments, the firms' object
permissions)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from contractors.register.forms import KEY_CATEGORY_CHOICES
from contractors.tenancy.selectors import split_pasted_codes
from portal.forms import DateInput


class ContractForm(forms.Form):
    agency = forms.ModelChoiceField(label=_("服务机构"), queryset=None)
    number = forms.CharField(label=_("合同编号"), required=False, max_length=64)
    period_start = forms.DateField(label=_("服务期起"), widget=DateInput())
    period_end = forms.DateField(label=_("服务期止"), widget=DateInput())
    # The column's range; whether the number makes sense is the service's business.
    quota = forms.IntegerField(label=_("企业配额（家）"), max_value=2**31 - 1)
    note = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, agencies, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies


class GridChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, grid):
        return f"{grid.street.name} · {grid.name}"


class AssignmentCriteriaForm(forms.Form):
    """Which firms to assign: every given criterion must match."""

    CRITERIA = ("street", "grid", "park", "key_category", "codes")

    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("不限")
    )
    grid = GridChoiceField(label=_("网格"), queryset=None, required=False, empty_label=_("不限"))
    park = forms.ModelChoiceField(
        label=_("所属园区"), queryset=None, required=False, empty_label=_("不限")
    )
    key_category = forms.ChoiceField(
        label=_("重点监管类别"), required=False, choices=[("", _("不限"))] + KEY_CATEGORY_CHOICES
    )
    codes = forms.CharField(
        label=_("统一社会信用代码"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("可从表格中直接粘贴，每行一个，或用逗号、空格分隔。"),
    )
    allow_over_quota = forms.BooleanField(label=_("我确认超出配额分配"), required=False)

    def __init__(self, *args, streets, grids, parks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets
        self.fields["grid"].queryset = grids
        self.fields["park"].queryset = parks

    def clean(self):
        data = super().clean()
        # No criterion at all would select the whole register.
        if not any(data.get(name) for name in self.CRITERIA) and not self.errors:
            raise forms.ValidationError(
                _("请至少填写一个条件：街道镇、网格、园区、重点监管类别或统一社会信用代码。")
            )
        return data

    def criteria(self):
        return [self[name] for name in self.CRITERIA]

    def selection_arguments(self):
        data = self.cleaned_data
        return {
            "street": data["street"].pk if data["street"] else None,
            "grid": data["grid"].pk if data["grid"] else None,
            "park": data["park"].pk if data["park"] else None,
            "key_category": data["key_category"],
            "codes": split_pasted_codes(data["codes"]) if data["codes"] else None,
        }


class FirmPickForm(forms.Form):
    """Firms ticked on a list, looked up only among `firms` (what the user may act on)."""

    firms = forms.ModelMultipleChoiceField(
        queryset=None,
        error_messages={
            "required": _("请先勾选企业。"),
            "invalid_choice": _("所选企业不在您可操作的范围内，请刷新页面后重试。"),
        },
    )

    def __init__(self, *args, firms, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["firms"].queryset = firms


class InspectorChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, membership):
        return str(membership.user)


class ShareOutForm(FirmPickForm):
    # Chosen by user id: a membership's sequential id is not for the outside.
    inspector = InspectorChoiceField(
        label=_("分给检查员"),
        queryset=None,
        required=False,
        to_field_name="user",
        empty_label=_("不指定（收回）"),
        error_messages={"invalid_choice": _("只能分给本机构的检查员。")},
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, inspectors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["inspector"].queryset = inspectors

    def inspector_user(self):
        membership = self.cleaned_data["inspector"]
        return membership.user if membership else None
