"""Every read of the enterprise register (streets, grids, parks, firms, register imports), scoped
to who is asking: `access_*_by_id` answers 404 for missing and forbidden alike."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Q
from django.http import Http404

from contractors.register.models import (
    Grid,
    KeyCategory,
    Park,
    RegisterImport,
    Street,
)
from contractors.tenancy.selectors import (
    _current_assignments,
    agencies_of,
    count_firms_visible_to,
    firms_visible_to,
    with_current_agency,
)
from portal.access import membership_of
from portal.models import Role


def search_firms(user, *, q="", street=None, park=None, key_category=None, agency=None, mine=False):
    """The visible firms matching a register search, ready for a list page (no query per row).

    `key_category` is a KeyCategory value, NOT_KEY_SUPERVISED, or empty for any; `agency`
    keeps the firms currently assigned to that agency; `mine` the firms shared out to `user`."""
    firms = with_current_agency(firms_visible_to(user).select_related("street", "grid", "park"))
    if q:
        q = q.strip()
        firms = firms.filter(Q(name__icontains=q) | Q(uscc__icontains=q.upper()))
    firms = firms.in_place(street=street, park=park, key_category=key_category)
    # A firm user may not learn which agency holds its firm by filtering for it.
    if agency and getattr(membership_of(user), "role", None) != Role.FIRM_USER:
        firms = firms.filter(Exists(_current_assignments().filter(contract__agency_id=agency)))
    if mine:
        firms = firms.filter(Exists(_current_assignments().filter(inspector=user)))
    return firms.order_by("name", "uscc")


def firm_list_page(user, *, number, per_page, **search):
    """Page `number` of `search_firms(user, **search)`, as the list pages show it. Without a
    filter the pager's count is that of every visible firm, which the permission rows answer
    without reading the firms (`count_firms_visible_to`)."""
    paginator = Paginator(search_firms(user, **search), per_page)
    if not any(search.values()):
        # Paginator.count is a cached property: a value set first is the one it keeps.
        paginator.count = count_firms_visible_to(user)
    return paginator.get_page(number)


def filter_choices(user):
    """The choices of a list page's street, park and agency filters for `user`; only bureau
    staff choose an agency (agency staff see their own agency's work)."""
    membership = membership_of(user)
    bureau_staff = membership is not None and membership.is_bureau_staff
    return {
        "streets": streets_of(user),
        "parks": parks_of(user),
        "agencies": agencies_of(user) if bureau_staff else None,
    }


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


def grids_of(user):
    """The grids of the user's bureau, with their streets, in street order."""
    membership = membership_of(user)
    if membership is None:
        return Grid.objects.none()
    return (
        Grid.objects.filter(street__bureau_id=membership.bureau_id)
        .select_related("street")
        .order_by("street__code", "name")
    )
