"""Django's authentication signals, into the audit log. Every way in (the login page, the admin
site, the token endpoint) goes through authenticate() and, for a session, login(): listening
here is what makes none of them pass unrecorded. Each receiver only hands over to a service.

Connected by portal/apps.py after axes's own receivers, so that a failure's lockout state is
already known when it is recorded."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from portal.accounts.middleware import LOGOUT_REASON, mark_active
from portal.accounts.services import (
    do_record_login_failed,
    do_record_login_succeeded,
    do_record_logout,
)


def on_login_failed(sender, credentials, request=None, **kwargs):
    locked = bool(getattr(request, "axes_locked_out", False))
    # Axes counts a failure (and so knows the count) only when it did not refuse the attempt
    # outright for a lockout already in force.
    counted = getattr(request, "axes_failures_since_start", None) is not None
    do_record_login_failed(
        username=str(credentials.get("username") or ""),
        refused_while_locked=locked and not counted,
        locked_now=locked and counted,
    )


def on_logged_in(sender, request, user, **kwargs):
    mark_active(request.session)
    do_record_login_succeeded(actor=user, via="session")


def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        do_record_logout(actor=user, reason=getattr(request, LOGOUT_REASON, "user"))


def connect_receivers():
    user_login_failed.connect(on_login_failed, dispatch_uid="portal.accounts.login_failed")
    user_logged_in.connect(on_logged_in, dispatch_uid="portal.accounts.logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="portal.accounts.logged_out")
