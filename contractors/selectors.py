"""Reads of register data, always scoped to who is asking."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404

from contractors.models import Firm, KeyCategory, Park, RegisterImport, Street
from portal.access import membership_of
from portal.models import Role

NOT_KEY_SUPERVISED = "none"


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
    """The visible firms matching a register search, ready for a list page (no query per row).

    `key_category` is a KeyCategory value, NOT_KEY_SUPERVISED, or empty for any."""
    firms = firms_visible_to(user).select_related("street", "grid", "park")
    if q:
        q = q.strip()
        firms = firms.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    if street:
        firms = firms.filter(street_id=street)
    if park:
        firms = firms.filter(park_id=park)
    if key_category == NOT_KEY_SUPERVISED:
        firms = firms.filter(key_category="")
    elif key_category:
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
    """A register import of the user's bureau: 404 outside the bureau, 403 for bureau staff
    who are not its admins."""
    membership = membership_of(user)
    if membership is None or not membership.is_bureau_staff:
        raise Http404
    try:
        register_import = RegisterImport.objects.select_related("uploaded_by").get(
            pk=import_id, bureau_id=membership.bureau_id
        )
    except (RegisterImport.DoesNotExist, ValidationError):
        raise Http404 from None
    if membership.role != Role.BUREAU_ADMIN:
        raise PermissionDenied
    return register_import


def register_summary(user):
    """Firm counts of the visible register, in one aggregate query."""
    return firms_visible_to(user).aggregate(
        firms=Count("pk"),
        key_units=Count("pk", filter=~Q(key_category="")),
        fire=Count("pk", filter=Q(key_category=KeyCategory.FIRE)),
        construction=Count("pk", filter=Q(key_category=KeyCategory.CONSTRUCTION)),
        key_places=Count("pk", filter=Q(key_category=KeyCategory.KEY_PLACE)),
        in_parks=Count("pk", filter=Q(park__isnull=False)),
    )


def recent_register_imports(user, *, limit=5):
    membership = membership_of(user)
    if membership is None or membership.role != Role.BUREAU_ADMIN:
        return RegisterImport.objects.none()
    return RegisterImport.objects.filter(bureau_id=membership.bureau_id).select_related(
        "uploaded_by"
    )[:limit]
