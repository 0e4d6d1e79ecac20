"""Reads of register data, always scoped to who is asking."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404

from contractors.models import Firm, Park, RegisterImport, Street
from portal.access import membership_of
from portal.models import Role


def firms_visible_to(user):
    """The firms `user` may see: the bureau's whole register for its staff, its own firm for a
    firm user, the assigned firms for agency staff."""
    membership = membership_of(user)
    if membership is None:
        return Firm.objects.none()
    if membership.is_bureau_staff:
        return Firm.objects.filter(bureau_id=membership.bureau_id)
    if membership.role == Role.FIRM_USER:
        return Firm.objects.filter(pk=membership.firm_id)
    return Firm.objects.none()


def search_firms(user, *, q="", street=None, park=None, key_category=None):
    """The visible firms matching a register search, ready for a list page (no query per row)."""
    firms = firms_visible_to(user).select_related("street", "grid", "park")
    if q:
        q = q.strip()
        firms = firms.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    if street:
        firms = firms.filter(street_id=street)
    if park:
        firms = firms.filter(park_id=park)
    if key_category is not None and key_category != "":
        firms = firms.filter(key_category=key_category)
    return firms.order_by("name", "uscc")


def access_firm_by_id(user, firm_id):
    """The firm, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return firms_visible_to(user).select_related("street", "grid", "park").get(pk=firm_id)
    except (Firm.DoesNotExist, ValidationError):
        raise Http404 from None


def streets_of(user):
    membership = membership_of(user)
    if membership is None:
        return Street.objects.none()
    return Street.objects.filter(bureau_id=membership.bureau_id).order_by("code")


def parks_of(user):
    membership = membership_of(user)
    if membership is None:
        return Park.objects.none()
    return Park.objects.filter(bureau_id=membership.bureau_id).order_by("name")


def access_register_import_by_id(user, import_id):
    """A register import of the user's bureau, uploaded by a bureau admin; 404 otherwise."""
    membership = membership_of(user)
    if membership is None or membership.role != Role.BUREAU_ADMIN:
        raise Http404
    try:
        return RegisterImport.objects.get(pk=import_id, bureau_id=membership.bureau_id)
    except (RegisterImport.DoesNotExist, ValidationError):
        raise Http404 from None
