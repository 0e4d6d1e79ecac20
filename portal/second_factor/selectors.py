"""Reads of the second factor, scoped to who is asking: a bureau admin's view of the staff
who sign or manage, and a user's own API tokens."""

import uuid

from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from portal.access import membership_of
from portal.models import BUREAU_ROLES, Role, User

# Fixed, so that a token's public id is the same in every process and after every restart.
TOKEN_NAMESPACE = uuid.UUID("5d0f2b4e-7c1a-4f55-9a53-2f7f8e1c9b60")
RESETTABLE_ROLES = (*sorted(BUREAU_ROLES), Role.AGENCY_MANAGER)


def token_public_id(token):
    """DRF's token has its secret key as primary key: this name for it reveals nothing of the
    key (a name-based UUID, SHA-1 of it) and so may stand in a URL and a list."""
    return uuid.uuid5(TOKEN_NAMESPACE, token.key)


def _admin_bureau_id(user):
    membership = membership_of(user)
    if membership is None or membership.role != Role.BUREAU_ADMIN:
        raise Http404
    return membership.bureau_id


def staff_second_factor_states(user):
    """For a bureau admin: the bureau's admins, reviewers and agency managers, each with
    `has_authenticator` and `recovery_codes_left`; 404 for anyone else."""
    bureau_id = _admin_bureau_id(user)
    return (
        User.objects.filter(membership__bureau_id=bureau_id, membership__role__in=RESETTABLE_ROLES)
        .annotate(
            has_authenticator=Exists(
                TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
            ),
            recovery_codes_left=Count(
                "staticdevice__token_set",
                filter=Q(staticdevice__confirmed=True),
                distinct=True,
            ),
        )
        .select_related("membership__bureau", "membership__agency")
        .order_by("membership__role", "username")
    )


def access_staff_member_by_id(user, member_id):
    """A member whose second factor `user` (a bureau admin) may reset: an admin, reviewer or
    agency manager of the same bureau. Anyone else, and any other asker: 404."""
    bureau_id = _admin_bureau_id(user)
    try:
        return User.objects.select_related("membership").get(
            pk=member_id,
            membership__bureau_id=bureau_id,
            membership__role__in=RESETTABLE_ROLES,
        )
    except User.DoesNotExist:
        raise Http404 from None


def recovery_codes_left(user):
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def api_tokens_of(user):
    """The user's own API tokens (DRF keeps at most one per user)."""
    return list(Token.objects.filter(user=user).order_by("created"))


def access_api_token_by_id(user, token_id):
    """One of the user's own tokens by its public id; another's, or none: 404."""
    for token in api_tokens_of(user):
        if token_public_id(token) == token_id:
            return token
    raise Http404
