"""The forms of the template and settings pages."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from documents.drafting.services import SETTINGS_FIELDS
from documents.models import DocType, DocumentSettings


class TemplateUploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("文书类型"), choices=DocType.choices)
    file = forms.FileField(
        label=_("模板文件"),
        help_text=_("Word（.docx）文件。上传后系统先用示例数据试生成，能正常生成才会启用。"),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Refused before it is read into memory; the service checks the bytes it is given.
        if upload.size > settings.DOCUMENT_TEMPLATE_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（%(size)d 字节），上限为 %(limit)d 字节。")
                % {"size": upload.size, "limit": settings.DOCUMENT_TEMPLATE_MAX_BYTES}
            )
        return upload


class DocumentSettingsForm(forms.ModelForm):
    """Parses the settings; the service checks and saves them (this form never saves)."""

    class Meta:
        model = DocumentSettings
        fields = SETTINGS_FIELDS
        help_texts = {
            name: _(
                "可用占位符：{bureau} 局简称、{prefix} 文书代字、{year} 年份、{sequence} 序号。"
            )
            for name in SETTINGS_FIELDS
            if name.endswith("_format")
        }
