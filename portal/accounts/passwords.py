"""The password rules' own words where Django's are not translated."""

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's rule. Its refusal has been reworded in Django 5.2 and the Chinese catalogue has
    not followed, so a user would be refused in English."""

    def validate(self, password, user=None):
        if len(password) < self.min_length:
            raise ValidationError(
                _("密码长度太短。密码必须包含至少 %(min_length)d 个字符。"),
                code="password_too_short",
                params={"min_length": self.min_length},
            )
