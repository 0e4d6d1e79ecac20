from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from contractors.models import KeyCategory
from contractors.selectors import NOT_KEY_SUPERVISED


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
        choices=[("", _("全部")), (NOT_KEY_SUPERVISED, _("非重点监管"))]
        + [(c.value, c.label) for c in KeyCategory if c.value],
    )

    def __init__(self, *args, streets, parks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets
        self.fields["park"].queryset = parks

    def search_arguments(self):
        data = self.cleaned_data
        return {
            "q": data["q"],
            "street": data["street"].pk if data["street"] else None,
            "park": data["park"].pk if data["park"] else None,
            "key_category": data["key_category"],
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
