"""The forms of the pages of hazards (record, edit, rectify, re-inspect, mark overdue)."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.register.forms import offer_places
from portal.forms import DateInput, PeriodFilterForm


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
        offer_places(self, streets=streets, parks=parks, agencies=agencies)

    def filters(self):
        data = self.cleaned_data
        return {
            **self.period(),
            **{name: data.get(name) for name in ("status", "category", "level", "street", "park")},
            "agency": data.get("agency"),
        }
