"""Reads of people and organisations, always scoped to who is asking."""

from portal.access import membership_of
from portal.models import User


def users_visible_to(user, *, role=None):
    """The members `user` may list: the whole bureau for its staff, the own agency for agency
    staff, nobody for anyone else; each with its organisation, at no query per row."""
    membership = membership_of(user)
    if membership is None:
        return User.objects.none()
    if membership.is_bureau_staff:
        users = User.objects.filter(membership__bureau_id=membership.bureau_id)
    elif membership.is_agency_staff:
        users = User.objects.filter(membership__agency_id=membership.agency_id)
    else:
        return User.objects.none()
    if role:
        users = users.filter(membership__role=role)
    return users.select_related(
        "membership__bureau", "membership__agency", "membership__firm"
    ).order_by("username")
