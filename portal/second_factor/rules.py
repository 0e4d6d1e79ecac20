"""Who must pass a second factor, and whether this session has.

The people who sign documents in the bureau's name (admins and reviewers) always need one; a
bureau may ask it of its agencies' managers too. Anyone else may enrol, and once enrolled must
pass the second step like the others: a factor that could be skipped would protect nothing.
"""

from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.access import membership_of
from portal.models import BUREAU_ROLES, Bureau, Role, User

# A TOTP code is six digits; recovery codes are longer (letters and digits), so the shape of
# what was typed says which device to ask, and a typo never throttles the other one.
TOTP_DIGITS = 6


def _needs(role, managers_need_second_factor):
    return role in BUREAU_ROLES or (
        role == Role.AGENCY_MANAGER and bool(managers_need_second_factor)
    )


def needs_second_factor(user):
    membership = membership_of(user)
    if membership is None:
        return False
    if membership.role != Role.AGENCY_MANAGER:
        return _needs(membership.role, False)
    # A lookup by key rather than membership.bureau: most pages never load the bureau.
    return Bureau.objects.filter(pk=membership.bureau_id, managers_need_second_factor=True).exists()


def totp_device_of(user):
    """The user's confirmed authenticator app, or None."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def recovery_device_of(user):
    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def has_second_factor(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_step_pending(request):
    """What the logged-in, not yet verified user of this request must do first: "verify",
    "enrol", or None when nothing is asked of them."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    # One query on every request of an unverified session, whoever it is: whether an
    # authenticator is enrolled, and what the role (and the bureau, for managers) asks.
    has_factor, role, managers_need = (
        User.objects.filter(pk=user.pk)
        .annotate(has_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        .values_list(
            "has_factor", "membership__role", "membership__bureau__managers_need_second_factor"
        )
        .get()
    )
    if has_factor:
        return "verify"
    if _needs(role, managers_need):
        return "enrol"
    return None


def is_totp_code(code):
    return len(code) == TOTP_DIGITS and code.isdigit()
