"""Until the second step is passed, a session reaches only the second step itself (or the
enrolment, when a factor is required and none is enrolled yet), logging in and out, and what
carries no session of its own: static files, the health check, the local storage endpoints.

Installed after django-otp's OTPMiddleware, which tells whether the session is verified."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from portal.second_factor.rules import second_step_pending

ALWAYS_OPEN = frozenset(
    {"login", "logout", "healthz", "local-upload", "local-download", "api-token"}
)
OPEN_WHEN = {
    "verify": ALWAYS_OPEN | {"second_factor:verify"},
    "enrol": ALWAYS_OPEN | {"second_factor:enrol"},
}
STEP_URL = {"verify": "second_factor:verify", "enrol": "second_factor:enrol"}


def _view_name(path):
    try:
        return resolve(path).view_name
    except Resolver404:
        return None


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        if request.path_info.startswith(self.static_prefix):
            return self.get_response(request)
        pending = second_step_pending(request)
        if pending is None or _view_name(request.path_info) in OPEN_WHEN[pending]:
            return self.get_response(request)
        if request.path_info.startswith("/api/"):
            # Only the session is unverified: a token request carries no session cookie, and
            # tokens are issued after the second factor.
            return JsonResponse({"detail": _("请先在网页上完成双因素认证。")}, status=403)
        target = reverse(STEP_URL[pending])
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
