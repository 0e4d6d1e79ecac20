"""The tables of tenancy (agencies, contracts, assignments, the firms' object permissions), with
their invariants."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from contractors.register.models import Firm
from contractors.register.uscc import validate_uscc


class Agency(models.Model):
    """A contracted third-party inspection agency (第三方服务机构)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="agencies")
    # The agency's object permissions are granted to this group, so access follows the agency
    # rather than each of its people.
    group = models.OneToOneField(
        "auth.Group", on_delete=models.PROTECT, related_name="agency", editable=False
    )
    name = models.CharField(_("名称"), max_length=128)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, validators=[validate_uscc])
    qualification = models.CharField(_("资质"), max_length=128, blank=True)
    contact = models.CharField(_("联系人"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("第三方服务机构")
        verbose_name_plural = _("第三方服务机构")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "uscc"], name="agency_unique_uscc"),
        ]

    def __str__(self):
        return self.name


class FirmUserObjectPermission(UserObjectPermissionBase):
    """Direct foreign-key object permissions on firms for single users (firm users)."""

    content_object = models.ForeignKey(Firm, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("企业对象权限（用户）")
        verbose_name_plural = _("企业对象权限（用户）")


class FirmGroupObjectPermission(GroupObjectPermissionBase):
    """Direct foreign-key object permissions on firms for agency groups."""

    content_object = models.ForeignKey(Firm, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("企业对象权限（机构）")
        verbose_name_plural = _("企业对象权限（机构）")


class Contract(models.Model):
    """A service contract (服务合同) between the bureau and an agency for a period and a quota."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="contracts")
    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="contracts", verbose_name=_("服务机构")
    )
    number = models.CharField(_("合同编号"), max_length=64, blank=True)
    period_start = models.DateField(_("服务期起"))
    period_end = models.DateField(_("服务期止"))
    quota = models.PositiveIntegerField(_("企业配额"))
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("服务合同")
        verbose_name_plural = _("服务合同")
        ordering = ["-period_start", "agency__name"]
        constraints = [
            models.CheckConstraint(
                name="contract_period_in_order",
                condition=models.Q(period_end__gte=models.F("period_start")),
            ),
            models.CheckConstraint(name="contract_quota_positive", condition=models.Q(quota__gt=0)),
        ]

    def __str__(self):
        return f"{self.agency} {self.period_start:%Y-%m-%d}—{self.period_end:%Y-%m-%d}"


class Assignment(models.Model):
    """A firm assigned to a contract. Ended assignments stay as history; a firm has at most one
    current assignment, so it has at most one agency at a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="assignments")
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="assignments")
    # The agency manager's share-out: which inspector looks after the firm ("my firms").
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("检查员"),
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("企业分配")
        verbose_name_plural = _("企业分配")
        constraints = [
            models.UniqueConstraint(
                fields=["firm"],
                condition=models.Q(ended_at__isnull=True),
                name="assignment_one_current_per_firm",
            ),
        ]
        indexes = [
            models.Index(fields=["contract", "ended_at"], name="assignment_contract_current")
        ]

    def __str__(self):
        return f"{self.firm} → {self.contract}"
