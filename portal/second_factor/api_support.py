"""The token endpoint's second step (it lives in portal/api.py with the other credentials)."""

from django.contrib.auth.signals import user_login_failed
from django.utils.translation import gettext as _
from rest_framework import serializers

from portal.second_factor.rules import has_second_factor, needs_second_factor
from portal.second_factor.services import do_verify_second_factor


def check_token_second_factor(user, otp, *, request):
    """A token is issued behind the same second factor as the pages: nothing to do for a user
    without one who needs none; otherwise a valid `otp`, or 400 naming `otp`. `request` is
    Django's, on which the lockout counts a wrong code as a failed login."""
    if not has_second_factor(user):
        if needs_second_factor(user):
            raise serializers.ValidationError(
                {"otp": [_("您的账号须使用双因素认证：请先登录网页启用双因素认证，再申请令牌。")]}
            )
        return
    if not otp:
        raise serializers.ValidationError(
            {"otp": [_("请提供身份验证器上的 6 位验证码或一个恢复码（otp）。")]}
        )
    result = do_verify_second_factor(actor=user, code=otp, channel="api")
    if not result.passed:
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        raise serializers.ValidationError({"otp": [result.error]})
