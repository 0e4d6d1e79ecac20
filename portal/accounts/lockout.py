"""The lockout of django-axes as the portal shows it: one refusal for the login page and the API,
and the lockouts in force, read from the failures axes counts.

Axes locks by each of AXES_LOCKOUT_PARAMETERS separately (the account, the client address): a
key is locked while the failures recorded for it within the cool-off reach the limit. Its rows
are one per (username, address, browser), each with the time of its latest failure.
"""

from dataclasses import dataclass
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

USERNAME = "username"
ADDRESS = "ip_address"


def lockout_message():
    # The same words for a real and an unknown account: the refusal must not tell them apart.
    minutes = int(get_cool_off().total_seconds() // 60)
    return _(
        "登录失败次数过多，已暂停登录。请在%(minutes)d分钟后再试，或联系管理局管理员解除锁定。"
    ) % {"minutes": minutes}


def lockout_response(request, original_response, credentials):
    """AXES_LOCKOUT_CALLABLE: the answer to a login attempt that is locked out, instead of the
    view's own. The API answers in its error shape; the page shows the login form again."""
    message = lockout_message()
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=settings.AXES_HTTP_RESPONSE_CODE)
    else:
        form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")})
        context = {"form": form, "locked_out": message, "next": request.POST.get("next", "")}
        response = render(
            request, "registration/login.html", context, status=settings.AXES_HTTP_RESPONSE_CODE
        )
    response["Retry-After"] = str(int(get_cool_off().total_seconds()))
    return response


@dataclass(frozen=True)
class Lockout:
    kind: str  # USERNAME or ADDRESS
    value: str
    failures: int
    since: datetime
    until: datetime


def _lockout(kind, value, attempts, *, limit, cool_off):
    """The lockout of one key from its attempt rows (newest first), or None when not locked.

    The lock holds until enough of its oldest rows have aged out of the cool-off for the rest to
    fall under the limit; it began with the newest row, since axes records no failure while a
    key is locked."""
    total = 0
    for attempt in attempts:
        total += attempt.failures_since_start
        if total >= limit:
            until = attempt.attempt_time + cool_off
            break
    else:
        return None
    failures = sum(attempt.failures_since_start for attempt in attempts)
    return Lockout(kind, value, failures, attempts[0].attempt_time, until)


def current_lockouts(*, now=None):
    """Every account and address locked out now, the accounts first."""
    now = now or timezone.now()
    cool_off = get_cool_off()
    limit = get_failure_limit(None, None)
    attempts = list(
        AccessAttempt.objects.filter(attempt_time__gte=now - cool_off).order_by("-attempt_time")
    )
    lockouts = []
    for kind in (USERNAME, ADDRESS):
        if kind not in settings.AXES_LOCKOUT_PARAMETERS:
            continue
        by_value = {}
        for attempt in attempts:
            value = getattr(attempt, kind)
            if value:
                by_value.setdefault(value, []).append(attempt)
        for value, rows in sorted(by_value.items()):
            lockout = _lockout(kind, value, rows, limit=limit, cool_off=cool_off)
            if lockout is not None:
                lockouts.append(lockout)
    return lockouts


def lift(lockout):
    """Forget the failures counted for the lockout's key; the number of attempt rows removed."""
    if lockout.kind == USERNAME:
        return AxesProxyHandler.reset_attempts(username=lockout.value)
    return AxesProxyHandler.reset_attempts(ip_address=lockout.value)
