"""The accounts' writes: logins, logouts and lockouts into the audit log, lifting a lockout,
changing one's password."""

from django.db import transaction
from rest_framework.authtoken.models import Token

from portal.access import bureau_of
from portal.accounts.lockout import USERNAME, lift
from portal.models import User
from portal.services import record_audit_event


def _known(username):
    return User.objects.filter(username=username).select_related("membership__bureau").first()


@transaction.atomic
def do_record_login_succeeded(*, actor, via):
    """`via`: "session" for the login page and the admin site, "token" for the API."""
    record_audit_event(
        actor=actor,
        action="auth.login_succeeded",
        target=actor,
        bureau=bureau_of(actor),
        detail={"via": via},
    )


@transaction.atomic
def do_record_login_failed(*, username, refused_while_locked, locked_now):
    """A failed login, with the username tried (never the password). The account, when there is
    one by that name, is the event's target, so its bureau sees the attempts on it."""
    user = _known(username)
    detail = {"username": username, "refused_while_locked": refused_while_locked}
    record_audit_event(
        actor=None,
        action="auth.login_failed",
        target=user,
        bureau=bureau_of(user),
        detail=detail,
    )
    if locked_now:
        record_audit_event(
            actor=None,
            action="auth.locked_out",
            target=user,
            bureau=bureau_of(user),
            detail={"username": username},
        )


@transaction.atomic
def do_record_logout(*, actor, reason):
    """`reason`: "user" when they logged out, "idle" when the session timed out."""
    record_audit_event(
        actor=actor,
        action="auth.logged_out",
        target=actor,
        bureau=bureau_of(actor),
        detail={"reason": reason},
    )


@transaction.atomic
def do_lift_lockout(*, actor, bureau, lockout):
    """Lift a lockout the actor may see (portal/accounts/selectors.py `access_lockout`)."""
    removed = lift(lockout)
    record_audit_event(
        actor=actor,
        action="auth.lockout_lifted",
        target=_known(lockout.value) if lockout.kind == USERNAME else None,
        bureau=bureau,
        detail={lockout.kind: lockout.value, "failures": lockout.failures, "rows": removed},
    )


@transaction.atomic
def do_change_password(*, actor, password):
    """Set the actor's new password (already checked by the form). Every other session of theirs
    ends with it, since Django ties a session to the password hash it was opened with; the API
    token goes too, as it would outlive the password otherwise."""
    actor.set_password(password)
    actor.save(update_fields=["password"])
    tokens, _ = Token.objects.filter(user=actor).delete()
    record_audit_event(
        actor=actor,
        action="auth.password_changed",
        target=actor,
        bureau=bureau_of(actor),
        detail={"tokens_revoked": tokens},
    )
