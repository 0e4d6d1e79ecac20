"""The accounts' pages: the lockouts a bureau admin lifts, and changing one's password."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.access import require_role
from portal.accounts.forms import LiftLockoutForm
from portal.accounts.selectors import access_lockout, lockouts_visible_to
from portal.accounts.services import do_change_password, do_lift_lockout
from portal.models import Role
from portal.page_support import form_errors


@login_required
def lockout_list(request):
    lockouts = lockouts_visible_to(request.user)
    return render(request, "portal/accounts/lockouts.html", {"lockouts": lockouts})


@require_POST
@login_required
def lockout_lift(request):
    membership = require_role(request.user, Role.BUREAU_ADMIN)
    form = LiftLockoutForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form_errors(form)))
        return redirect("accounts:lockouts")
    lockout = access_lockout(request.user, form.cleaned_data["kind"], form.cleaned_data["value"])
    do_lift_lockout(actor=request.user, bureau=membership.bureau, lockout=lockout)
    messages.success(request, _("已解除对 %(value)s 的登录锁定。") % {"value": lockout.value})
    return redirect("accounts:lockouts")


@login_required
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_change_password(actor=request.user, password=form.cleaned_data["new_password1"])
        # This session stays (under a new key); the user's other sessions end.
        update_session_auth_hash(request, request.user)
        messages.success(request, _("密码已修改，其他设备上的登录已全部退出。"))
        return redirect("home")
    return render(request, "portal/accounts/password_change.html", {"form": form})
