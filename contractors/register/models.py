"""The tables of the enterprise register (streets, grids, parks, firms, register imports), with
their invariants."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contractors.register.uscc import validate_uscc


class StreetKind(models.TextChoices):
    STREET = "street", _("街道")
    TOWN = "town", _("镇")


class Street(models.Model):
    """A street or town (街道镇): the unit of grid-based supervision."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="streets")
    name = models.CharField(_("名称"), max_length=64)
    code = models.CharField(_("代码"), max_length=16)
    kind = models.CharField(_("类型"), max_length=8, choices=StreetKind.choices)

    class Meta:
        verbose_name = _("街道镇")
        verbose_name_plural = _("街道镇")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "name"], name="street_unique_name"),
            models.UniqueConstraint(fields=["bureau", "code"], name="street_unique_code"),
        ]

    def __str__(self):
        return self.name


class Grid(models.Model):
    """A supervision grid (网格) inside a street or town."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, related_name="grids")
    name = models.CharField(_("名称"), max_length=64)

    class Meta:
        verbose_name = _("网格")
        verbose_name_plural = _("网格")
        ordering = ["street__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["street", "name"], name="grid_unique_name"),
        ]

    def __str__(self):
        return f"{self.street.name} {self.name}"


class Park(models.Model):
    """An industrial park (工业园区)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="parks")
    name = models.CharField(_("名称"), max_length=64)

    class Meta:
        verbose_name = _("工业园区")
        verbose_name_plural = _("工业园区")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "name"], name="park_unique_name"),
        ]

    def __str__(self):
        return self.name


class KeyCategory(models.TextChoices):
    NONE = "", _("非重点监管")
    FIRE = "fire", _("消防")
    CONSTRUCTION = "construction", _("建筑施工")
    KEY_PLACE = "key_place", _("重点场所")


KEY_PLACE_KINDS = (
    "危险化学品",
    "特种设备",
    "地下空间",
    "道路交通",
    "大型商场和综合性市场",
    "社会福利养老机构",
)


class FirmQuerySet(models.QuerySet):
    def in_place(self, *, street=None, grid=None, park=None, key_category=None):
        """The firms of the given street, grid and park, and of `key_category` (a KeyCategory
        value, NOT_KEY_SUPERVISED, or empty for any): the register's own filters."""
        firms = self
        for field, value in (("street_id", street), ("grid_id", grid), ("park_id", park)):
            if value:
                firms = firms.filter(**{field: value})
        if key_category == NOT_KEY_SUPERVISED:
            return firms.filter(key_category="")
        if key_category:
            return firms.filter(key_category=key_category)
        return firms


class Firm(models.Model):
    """An enterprise on the bureau's register (企业 / 生产经营单位)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="firms")
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, validators=[validate_uscc])
    name = models.CharField(_("企业名称"), max_length=128)
    address = models.CharField(_("经营地址"), max_length=255, blank=True)
    registered_address = models.CharField(_("注册地址"), max_length=255, blank=True)
    street = models.ForeignKey(
        Street, on_delete=models.PROTECT, related_name="firms", verbose_name=_("所属街道")
    )
    grid = models.ForeignKey(
        Grid,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="firms",
        verbose_name=_("网格"),
    )
    park = models.ForeignKey(
        Park,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="firms",
        verbose_name=_("所属园区"),
    )
    industry = models.CharField(_("行业"), max_length=64, blank=True)
    key_category = models.CharField(
        _("重点监管类别"), max_length=16, choices=KeyCategory.choices, blank=True, default=""
    )
    key_kind = models.CharField(_("重点监管子类"), max_length=32, blank=True)
    legal_representative = models.CharField(_("法定代表人"), max_length=64, blank=True)
    contact = models.CharField(_("联系人"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FirmQuerySet.as_manager()

    class Meta:
        verbose_name = _("企业")
        verbose_name_plural = _("企业")
        ordering = ["name", "uscc"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "uscc"], name="firm_unique_uscc"),
        ]
        indexes = [
            models.Index(fields=["bureau", "name"], name="firm_bureau_name"),
            models.Index(fields=["street", "name"], name="firm_street_name"),
            # The lists' order: page 1 reads its rows from the index instead of sorting every
            # visible firm (bench/README.md, the firm list).
            models.Index(fields=["name", "uscc"], name="firm_name_uscc"),
        ]
        permissions = [("inspect_firm", _("可以检查企业"))]

    def __str__(self):
        return self.name


class RegisterImport(models.Model):
    """One uploaded register file: previewed first, committed on the admin's word."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("已预览")
        COMMITTED = "committed", _("已导入")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filename = models.CharField(max_length=255)
    file = models.FileField(max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("名录导入")
        verbose_name_plural = _("名录导入")
        ordering = ["-created_at"]

    def __str__(self):
        return self.filename


NOT_KEY_SUPERVISED = "none"
