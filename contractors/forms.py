import uuid

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contractors.models import (
    ChecklistAnswer,
    Hazard,
    HazardCategory,
    HazardLevel,
    Inspection,
    KeyCategory,
)
from contractors.selectors import NOT_KEY_SUPERVISED, split_pasted_codes

KEY_CATEGORY_CHOICES = [(NOT_KEY_SUPERVISED, _("非重点监管"))] + [
    (c.value, c.label) for c in KeyCategory if c.value
]


class RegisterSearchForm(forms.Form):
    q = forms.CharField(label=_("名称或统一社会信用代码"), required=False, max_length=64)
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("全部街道镇")
    )
    park = forms.ModelChoiceField(
        label=_("所属园区"), queryset=None, required=False, empty_label=_("全部园区")
    )
    key_category = forms.ChoiceField(
        label=_("重点监管类别"),
        required=False,
        choices=[("", _("全部"))] + KEY_CATEGORY_CHOICES,
    )
    agency = forms.ModelChoiceField(
        label=_("服务机构"), queryset=None, required=False, empty_label=_("全部机构")
    )
    mine = forms.BooleanField(label=_("只看分给我的企业"), required=False)

    def __init__(self, *args, streets, parks, agencies=None, mine=False, **kwargs):
        """`agencies`: the agencies to filter by (bureau staff), None for no such filter;
        `mine`: offer the "my firms" filter (inspectors)."""
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets
        self.fields["park"].queryset = parks
        if agencies is None:
            del self.fields["agency"]
        else:
            self.fields["agency"].queryset = agencies
        if not mine:
            del self.fields["mine"]

    def search_arguments(self):
        data = self.cleaned_data
        return {
            "q": data["q"],
            "street": data["street"].pk if data["street"] else None,
            "park": data["park"].pk if data["park"] else None,
            "key_category": data["key_category"],
            "agency": data["agency"].pk if data.get("agency") else None,
            "mine": data.get("mine", False),
        }


class RegisterImportForm(forms.Form):
    file = forms.FileField(
        label=_("名录文件"),
        help_text=_("支持 CSV（UTF-8 或 GBK 编码）和 Excel（.xlsx）文件。"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.REGISTER_IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（%(size)d 字节），上限为 %(limit)d 字节。")
                % {"size": upload.size, "limit": settings.REGISTER_IMPORT_MAX_BYTES}
            )
        return upload


class RegisterImportCommitForm(forms.Form):
    valid_only = forms.BooleanField(label=_("仅导入无误的行"), required=False)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        # The browser's date picker exchanges ISO dates whatever the page's language.
        super().__init__(format="%Y-%m-%d", **kwargs)


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


# --- Inspections and hazards -------------------------------------------------------------------


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


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


class HazardForm(forms.Form):
    category = forms.ChoiceField(label=_("隐患类别"), choices=HazardCategory.choices)
    level = forms.ChoiceField(label=_("隐患等级"), choices=HazardLevel.choices)
    description = forms.CharField(label=_("隐患描述"), widget=forms.Textarea(attrs={"rows": 3}))
    location = forms.CharField(label=_("隐患部位"), required=False, max_length=255)
    legal_basis = forms.CharField(label=_("法律依据"), required=False, max_length=255)
    requirement = forms.CharField(label=_("整改要求"), required=False, max_length=255)
    deadline = forms.DateField(label=_("整改期限"), widget=DateInput())
    rectified_on_spot = forms.BooleanField(
        label=_("当场整改（仅限一般事故隐患，须上传整改后照片）"), required=False
    )


class EvidenceIdsField(forms.Field):
    """The ids of confirmed uploads, one hidden input each, added by the uploader script."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        ids = []
        for raw in value or ():
            try:
                ids.append(uuid.UUID(str(raw)))
            except ValueError:
                raise forms.ValidationError(_("证据材料无效，请重新上传。")) from None
        return ids


class RectifyForm(forms.Form):
    note = forms.CharField(
        label=_("整改情况"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    evidence = EvidenceIdsField(required=False)


class ReinspectForm(forms.Form):
    passed = forms.TypedChoiceField(
        label=_("复查结论"),
        choices=[("true", _("复查通过，予以销号")), ("false", _("复查未通过，重新限期整改"))],
        coerce=lambda value: value == "true",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("复查意见"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    deadline = forms.DateField(
        label=_("新的整改期限"),
        required=False,
        widget=DateInput(),
        help_text=_("复查未通过时必填。"),
    )
    evidence = EvidenceIdsField(required=False)


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


class HazardFilterForm(PeriodFilterForm):
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部"))] + Hazard.Status.choices
    )
    category = forms.ChoiceField(
        label=_("隐患类别"), required=False, choices=[("", _("全部"))] + HazardCategory.choices
    )
    level = forms.ChoiceField(
        label=_("隐患等级"), required=False, choices=[("", _("全部"))] + HazardLevel.choices
    )
    street = forms.ModelChoiceField(
        label=_("所属街道"), queryset=None, required=False, empty_label=_("全部街道镇")
    )
    park = forms.ModelChoiceField(
        label=_("工业园区"), queryset=None, required=False, empty_label=_("全部园区")
    )
    agency = forms.ModelChoiceField(
        label=_("服务机构"), queryset=None, required=False, empty_label=_("全部机构")
    )

    def __init__(self, *args, streets, parks, agencies=None, **kwargs):
        """`agencies`: None where the user cannot choose one (agency staff, firm users)."""
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets
        self.fields["park"].queryset = parks
        if agencies is None:
            del self.fields["agency"]
        else:
            self.fields["agency"].queryset = agencies

    def filters(self):
        data = self.cleaned_data
        return {
            **self.period(),
            **{name: data.get(name) for name in ("status", "category", "level", "street", "park")},
            "agency": data.get("agency"),
        }
