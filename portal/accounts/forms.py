from django import forms
from django.utils.translation import gettext_lazy as _

from portal.accounts.lockout import ADDRESS, USERNAME


class LiftLockoutForm(forms.Form):
    kind = forms.ChoiceField(choices=[(USERNAME, _("账号")), (ADDRESS, _("地址"))])
    value = forms.CharField(max_length=255)
