"""Unified social credit code (统一社会信用代码), GB 32100-2015.

18 characters: registration authority (1), organisation type (1), administrative division (6),
organisation code (9, GB 11714 with its own check character), check character (1).
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def normalise_uscc(raw):
    return "".join(str(raw or "").split()).upper()


def uscc_check_char(first17):
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(body8):
    def value(c):
        return int(c) if c.isdigit() else ord(c) - ord("A") + 10

    remainder = 11 - sum(value(c) * w for c, w in zip(body8, ORG_CODE_WEIGHTS, strict=True)) % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def uscc_error(code):
    """The first thing wrong with a normalised code, as a message naming the character; or None."""
    if not code:
        return _("统一社会信用代码不能为空")
    if len(code) != 18:
        return _("统一社会信用代码应为18位，实为%(n)d位") % {"n": len(code)}
    for position, char in enumerate(code, start=1):
        if char not in ALPHABET:
            return _("第%(p)d位“%(c)s”不是统一社会信用代码允许的字符") % {"p": position, "c": char}
    for position in range(3, 9):
        if not code[position - 1].isdigit():
            return _("第%(p)d位“%(c)s”错误：第3至8位是行政区划代码，只能是数字") % {
                "p": position,
                "c": code[position - 1],
            }
    body, org_check = code[8:16], code[16]
    if not body.isalnum():
        return _("第9至16位组织机构代码本体含有不允许的字符")
    expected = org_code_check_char(body)
    if org_check != expected:
        return _("第17位（组织机构代码校验码）应为“%(e)s”，实为“%(c)s”") % {
            "e": expected,
            "c": org_check,
        }
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return _("第18位（校验码）应为“%(e)s”，实为“%(c)s”") % {"e": expected, "c": code[17]}
    return None


def validate_uscc(value):
    message = uscc_error(normalise_uscc(value))
    if message:
        raise ValidationError(message, code="invalid_uscc")


def make_uscc(*, authority="9", org_type="1", region, serial):
    """A valid code for `region` (6 digits) from an integer serial: for demo data and tests."""
    body = f"{serial:08d}"[-8:]
    first17 = f"{authority}{org_type}{region}{body}{org_code_check_char(body)}"
    return first17 + uscc_check_char(first17)
