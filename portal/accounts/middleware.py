"""The idle timeout of a session (ASVS 5.0 V7.3.1): bureau staff, who sign, after
SESSION_IDLE_MINUTES_BUREAU without a request; everyone else, inspectors on site among them,
after SESSION_IDLE_MINUTES.

Installed after the messages (the page says why the user must log in again) and the request
context (the logout's audit event carries the client's address). A request authenticated by an
API token has no session and is not concerned."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.authentication import TokenAuthentication

from portal.access import membership_of

LAST_SEEN = "accounts_last_seen"
# Stamping every request would write the session on every page; a minute's slack is plenty.
REFRESH_SECONDS = 60
# Read by the logout receiver (portal/accounts/receivers.py) to tell a timeout from a logout.
LOGOUT_REASON = "portal_logout_reason"


def idle_seconds(user):
    membership = membership_of(user)
    if membership is not None and membership.is_bureau_staff:
        return settings.SESSION_IDLE_MINUTES_BUREAU * 60
    return settings.SESSION_IDLE_MINUTES * 60


def mark_active(session):
    session[LAST_SEEN] = int(time.time())


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN)
            if last_seen is not None and now - last_seen > idle_seconds(request.user):
                return self._expired(request)
            # A session opened before this middleware has no stamp: its clock starts now.
            if last_seen is None or now - last_seen >= REFRESH_SECONDS:
                request.session[LAST_SEEN] = now
        return self.get_response(request)

    def _expired(self, request):
        setattr(request, LOGOUT_REASON, "idle")
        logout(request)
        message = _("长时间未操作，登录已失效，请重新登录。")
        if request.path_info.startswith("/api/"):
            response = JsonResponse({"detail": message}, status=401)
            response["WWW-Authenticate"] = TokenAuthentication.keyword
            return response
        messages.warning(request, message)
        return redirect_to_login(request.get_full_path())
