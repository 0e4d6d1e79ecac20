from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("验证码或恢复码"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
        error_messages={"required": _("请输入身份验证器上的 6 位验证码或一个恢复码。")},
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("身份验证器显示的 6 位验证码"),
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}"}
        ),
        error_messages={"required": _("请输入身份验证器当前显示的 6 位数字。")},
    )
