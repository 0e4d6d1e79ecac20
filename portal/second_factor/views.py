"""The second factor's pages: the second step after the password, enrolment with a QR code,
recovery codes shown once, the user's own security page (factor and API tokens), and the
bureau admin's page of the staff's factors with their reset."""

from urllib.parse import urlencode

import segno
from axes.handlers.proxy import AxesProxyHandler
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from portal.page_support import add_service_errors
from portal.second_factor.forms import CodeForm, EnrolForm
from portal.second_factor.rules import (
    has_second_factor,
    needs_second_factor,
    second_step_pending,
)
from portal.second_factor.selectors import (
    access_api_token_by_id,
    access_staff_member_by_id,
    api_tokens_of,
    recovery_codes_left,
    staff_second_factor_states,
    token_public_id,
)
from portal.second_factor.services import (
    base32_of,
    do_create_recovery_codes,
    do_enrol,
    do_reset_second_factor,
    do_revoke_api_token,
    do_verify_second_factor,
    new_totp_key,
    unsaved_totp_device,
)

ENROL_KEY = "second_factor_enrol_key"
NEW_CODES = "second_factor_new_codes"


def _next_url(request):
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _passed(request, device):
    otp_login(request, device)
    # A new session key at the new level of trust, as at the password login.
    request.session.cycle_key()


@login_required
def verify(request):
    pending = second_step_pending(request)
    if pending == "enrol":
        return redirect(reverse("second_factor:enrol") + "?" + request.GET.urlencode())
    if pending is None:
        return redirect(_next_url(request))
    credentials = {"username": request.user.get_username()}
    if AxesProxyHandler.is_locked(request, credentials):
        # Locked by wrong codes (or passwords meanwhile): the password step must start again,
        # and the login page says when it may.
        logout(request)
        messages.error(request, _("登录失败次数过多，请稍后重新登录。"))
        return redirect("login")
    form = CodeForm(request.POST or None)
    if form.is_valid():
        result = do_verify_second_factor(
            actor=request.user, code=form.cleaned_data["code"], channel="web"
        )
        if result.passed:
            _passed(request, result.device)
            return redirect(_next_url(request))
        # A wrong code is a failed login: the lockout of the password step counts it too.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        form.add_error("code", result.error)
    return render(request, "second_factor/verify.html", {"form": form, "next": _next_url(request)})


def _qr_svg(uri):
    # Drawn here, as inline SVG: the secret never leaves the portal for a QR service.
    svg = segno.make(uri, error="m").svg_inline(scale=4, border=4, title=_("身份验证器二维码"))
    return mark_safe(svg)  # noqa: S308 - segno's own markup; the URI is only in the path data


@login_required
def enrol(request):
    key = request.session.get(ENROL_KEY)
    if key is None:
        key = request.session[ENROL_KEY] = new_totp_key()
    form = EnrolForm(request.POST or None)
    if form.is_valid():
        try:
            device, codes = do_enrol(actor=request.user, key=key, code=form.cleaned_data["code"])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            del request.session[ENROL_KEY]
            _passed(request, device)
            request.session[NEW_CODES] = codes
            messages.success(request, _("双因素认证已启用。"))
            return redirect(
                reverse("second_factor:recovery_codes")
                + "?"
                + urlencode({"next": _next_url(request)})
            )
    device = unsaved_totp_device(request.user, key)
    return render(
        request,
        "second_factor/enrol.html",
        {
            "form": form,
            "qr": _qr_svg(device.config_url),
            "secret": base32_of(key),
            "replacing": has_second_factor(request.user),
            "next": _next_url(request),
        },
    )


@login_required
def recovery_codes(request):
    codes = request.session.pop(NEW_CODES, None)
    if not codes:
        messages.error(request, _("恢复码只显示一次；如已遗失，请生成新的恢复码。"))
        return redirect("second_factor:account")
    return render(
        request, "second_factor/recovery_codes.html", {"codes": codes, "next": _next_url(request)}
    )


@require_POST
@login_required
def new_recovery_codes(request):
    if not has_second_factor(request.user):
        messages.error(request, _("请先启用双因素认证。"))
        return redirect("second_factor:account")
    request.session[NEW_CODES] = do_create_recovery_codes(actor=request.user)
    return redirect("second_factor:recovery_codes")


@login_required
def account(request):
    tokens = [
        {"id": token_public_id(token), "created": token.created}
        for token in api_tokens_of(request.user)
    ]
    return render(
        request,
        "second_factor/account.html",
        {
            "has_factor": has_second_factor(request.user),
            "needs_factor": needs_second_factor(request.user),
            "codes_left": recovery_codes_left(request.user),
            "tokens": tokens,
        },
    )


@require_POST
@login_required
def revoke_token(request, token_id):
    token = access_api_token_by_id(request.user, token_id)
    do_revoke_api_token(actor=request.user, token=token)
    messages.success(request, _("API 令牌已撤销，使用它的程序需要重新申请令牌。"))
    return redirect("second_factor:account")


@login_required
def staff(request):
    return render(
        request,
        "second_factor/staff.html",
        {"members": staff_second_factor_states(request.user)},
    )


@require_POST
@login_required
def reset(request, member_id):
    member = access_staff_member_by_id(request.user, member_id)
    try:
        do_reset_second_factor(actor=request.user, user=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("已重置 %(name)s 的双因素认证，其下次登录时须重新绑定身份验证器。")
            % {"name": member},
        )
    return redirect("second_factor:staff")
