"""The forms of the pages of the enterprise register (streets, grids, parks, firms, register
imports)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contractors.register.models import NOT_KEY_SUPERVISED, KeyCategory

KEY_CATEGORY_CHOICES = [(NOT_KEY_SUPERVISED, _("非重点监管"))] + [
    (c.value, c.label) for c in KeyCategory if c.value
]


def offer_places(form, *, streets, parks, agencies):
    """A list filter's street and park choices, and its agency choice where the user may pick
    one (`agencies` is None for agency staff and firm users: the field goes)."""
    form.fields["street"].queryset = streets
    form.fields["park"].queryset = parks
    if agencies is None:
        del form.fields["agency"]
    else:
        form.fields["agency"].queryset = agencies


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
        offer_places(self, streets=streets, parks=parks, agencies=agencies)
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
