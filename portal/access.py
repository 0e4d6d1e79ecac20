"""Who the user is in the portal: the membership behind every access decision.

Missing and forbidden objects look the same (404); a known user lacking the role for an
action gets 403.
"""

from django.core.exceptions import PermissionDenied

from portal.models import Membership


def membership_of(user):
    """The user's membership, or None for anonymous users and users outside any organisation."""
    # DRF leaves request.user as None for anonymous requests (UNAUTHENTICATED_USER).
    if user is None or not user.is_authenticated:
        return None
    try:
        return user.membership
    except Membership.DoesNotExist:
        return None


def bureau_of(user):
    """The bureau of the user's organisation, or None (an outsider, a superuser without one):
    the chain an audit event about the user joins."""
    membership = membership_of(user)
    return membership.bureau if membership is not None else None


def require_role(user, *roles):
    """The user's membership if it has one of `roles`; 403 otherwise."""
    membership = membership_of(user)
    if membership is None or membership.role not in roles:
        raise PermissionDenied
    return membership
