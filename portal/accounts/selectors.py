"""Who sees which lockouts: a bureau admin, those of the bureau's own accounts, of usernames
that belong to no other bureau (unknown names included: they are what an attacker typed) and of
client addresses, which are nobody's."""

from django.http import Http404

from portal.access import require_role
from portal.accounts.lockout import USERNAME, current_lockouts
from portal.models import Role, User


def lockouts_visible_to(user):
    membership = require_role(user, Role.BUREAU_ADMIN)
    lockouts = current_lockouts()
    names = [lockout.value for lockout in lockouts if lockout.kind == USERNAME]
    elsewhere = set(
        User.objects.filter(username__in=names, membership__isnull=False)
        .exclude(membership__bureau=membership.bureau)
        .values_list("username", flat=True)
    )
    return [
        lockout
        for lockout in lockouts
        if not (lockout.kind == USERNAME and lockout.value in elsewhere)
    ]


def access_lockout(user, kind, value):
    """The lockout of that account or address, in force and visible to the user; 404 otherwise
    (403 for anyone but a bureau admin)."""
    for lockout in lockouts_visible_to(user):
        if (lockout.kind, lockout.value) == (kind, value):
            return lockout
    raise Http404
