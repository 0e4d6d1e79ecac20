"""The second factor's writes: enrolment, recovery codes, the second step, a reset by another
bureau admin, and the revocation of API tokens. Every one is audited."""

import base64
import binascii
import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key
from rest_framework.authtoken.models import Token

from portal.access import bureau_of
from portal.second_factor.rules import is_totp_code
from portal.second_factor.selectors import token_public_id
from portal.services import record_audit_event

RECOVERY_CODE_COUNT = 10
# Codes of one step before or after now are accepted, as the authenticator's clock may drift.
TOLERANCE_STEPS = 1


def new_totp_key():
    """A fresh 160-bit secret, hex as django-otp keeps it."""
    return default_key()


def key_from_base32(secret):
    """The hex key of a base32 secret as authenticator apps show it (RFC 4648, case and
    padding as typed)."""
    cleaned = "".join(secret.split()).upper()
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        raw = base64.b32decode(cleaned)
    except (binascii.Error, ValueError):
        raise ValidationError(_("密钥不是有效的 Base32 字符串。")) from None
    if len(raw) < 10:
        raise ValidationError(_("密钥太短，至少需要 80 位（16 个 Base32 字符）。"))
    return raw.hex()


def base32_of(key):
    return base64.b32encode(bytes.fromhex(key)).decode("ascii").rstrip("=")


def unsaved_totp_device(user, key):
    """A device for showing the enrolment QR code; it is saved only once a code proves that
    the user's app holds the secret."""
    return TOTPDevice(user=user, key=key, name=_("身份验证器"), confirmed=False)


def _replace_recovery_codes(user):
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("恢复码"), confirmed=True)
    codes = [StaticToken.random_token() for _index in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _install_totp_device(user, key, last_t):
    # One authenticator per user: a new one replaces the old, whose codes stop working.
    TOTPDevice.objects.filter(user=user).delete()
    return TOTPDevice.objects.create(
        user=user, key=key, name=_("身份验证器"), confirmed=True, last_t=last_t
    )


@transaction.atomic
def do_enrol(*, actor, key, code):
    """Confirm the authenticator holding `key` by one of its codes; returns the device and
    the new recovery codes, which are shown once and kept only as the device's tokens."""
    code = (code or "").strip()
    totp = TOTP(bytes.fromhex(key))
    totp.time = time.time()
    if not is_totp_code(code) or not totp.verify(int(code), tolerance=TOLERANCE_STEPS):
        raise ValidationError({"code": [_("验证码不正确，请输入身份验证器当前显示的 6 位数字。")]})
    # The code just used cannot be used again at the second step (django-otp refuses t <= last_t).
    device = _install_totp_device(actor, key, last_t=totp.t())
    codes = _replace_recovery_codes(actor)
    bureau = bureau_of(actor)
    record_audit_event(actor=actor, action="second_factor.enrolled", target=actor, bureau=bureau)
    record_audit_event(
        actor=actor,
        action="second_factor.recovery_codes_created",
        target=actor,
        bureau=bureau,
        detail={"count": len(codes)},
    )
    return device, codes


@transaction.atomic
def do_enrol_known_secret(*, actor, user, secret):
    """Enrol `user` with an authenticator secret given in base32 (the demo's, a test's),
    confirmed at once: whoever calls this already holds the secret."""
    device = _install_totp_device(user, key_from_base32(secret), last_t=-1)
    record_audit_event(
        actor=actor,
        action="second_factor.enrolled",
        target=user,
        bureau=bureau_of(user),
        detail={"known_secret": True},
    )
    return device


@transaction.atomic
def do_create_recovery_codes(*, actor):
    """New recovery codes for the actor; the old ones stop working."""
    codes = _replace_recovery_codes(actor)
    record_audit_event(
        actor=actor,
        action="second_factor.recovery_codes_created",
        target=actor,
        bureau=bureau_of(actor),
        detail={"count": len(codes)},
    )
    return codes


@dataclass(frozen=True)
class Verification:
    device: object
    error: str

    @property
    def passed(self):
        return self.device is not None


def _check_code(user, code):
    model = TOTPDevice if is_totp_code(code) else StaticDevice
    # Locked so that two requests with one code cannot both pass (and one recovery code is
    # spent once).
    device = (
        model.objects.select_for_update().filter(user=user, confirmed=True).order_by("id").first()
    )
    if device is None:
        return None, "no_device"
    allowed, _detail = device.verify_is_allowed()
    if not allowed:
        return None, "throttled"
    if not device.verify_token(code):
        return None, "wrong_code"
    return device, ""


@transaction.atomic
def do_verify_second_factor(*, actor, code, channel):
    """The second step: a TOTP code or a recovery code (spent by its use). A failure is
    audited and returned rather than raised, so that its audit event is kept."""
    code = "".join((code or "").split()).lower()
    if not code:
        return Verification(None, _("请输入身份验证器上的 6 位验证码或一个恢复码。"))
    device, reason = _check_code(actor, code)
    if device is not None:
        return Verification(device, "")
    record_audit_event(
        actor=actor,
        action="second_factor.failed",
        target=actor,
        bureau=bureau_of(actor),
        detail={"channel": channel, "reason": reason},
    )
    if reason == "throttled":
        return Verification(None, _("验证失败次数过多，请稍候几秒再试。"))
    return Verification(None, _("验证码不正确或已使用，请重新输入。"))


@transaction.atomic
def do_reset_second_factor(*, actor, user):
    """Another bureau admin removes `user`'s authenticator and recovery codes (a lost phone):
    the user must enrol again at the next login. Their API token was issued behind the old
    factor, so it goes too."""
    if actor.pk == user.pk:
        raise ValidationError(_("不能重置自己的双因素认证，请联系另一位管理员。"))
    totp_count, _detail = TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    tokens, _detail = Token.objects.filter(user=user).delete()
    record_audit_event(
        actor=actor,
        action="second_factor.reset",
        target=user,
        bureau=bureau_of(actor),
        detail={"had_authenticator": bool(totp_count), "tokens_revoked": tokens},
    )


@transaction.atomic
def do_revoke_api_token(*, actor, token):
    """The owner revokes an API token; a script using it gets 401 from now on."""
    public_id = str(token_public_id(token))
    token.delete()
    record_audit_event(
        actor=actor,
        action="auth.token_revoked",
        target=actor,
        bureau=bureau_of(actor),
        detail={"token": public_id},
    )
