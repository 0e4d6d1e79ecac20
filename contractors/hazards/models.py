"""The tables of hazards (record, edit, rectify, re-inspect, mark overdue), with their
invariants."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contractors.register.models import Firm


class HazardCategory(models.TextChoices):
    PRODUCTION = "production", _("生产安全")
    FIRE = "fire", _("消防安全")
    SPECIAL_EQUIPMENT = "special_equipment", _("特种设备安全")
    OCCUPATIONAL_HEALTH = "occupational_health", _("职业健康安全")
    OTHER = "other", _("其他")


class HazardLevel(models.TextChoices):
    GENERAL = "general", _("一般事故隐患")
    MAJOR = "major", _("重大事故隐患")


class Hazard(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        RECTIFIED = "rectified", _("已整改待复查")
        VERIFIED = "verified", _("已复查销号")
        OVERDUE = "overdue", _("逾期未整改")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    inspection = models.ForeignKey(
        "contractors.Inspection", on_delete=models.PROTECT, related_name="hazards"
    )
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="hazards")
    item = models.ForeignKey(
        "contractors.ChecklistItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    category = models.CharField(_("隐患类别"), max_length=24, choices=HazardCategory.choices)
    level = models.CharField(_("隐患等级"), max_length=16, choices=HazardLevel.choices)
    description = models.TextField(_("隐患描述"))
    location = models.CharField(_("隐患部位"), max_length=255, blank=True)
    legal_basis = models.CharField(_("法律依据"), max_length=255, blank=True)
    requirement = models.CharField(_("整改要求"), max_length=255, blank=True)
    deadline = models.DateField(_("整改期限"))
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    rectified_on_spot = models.BooleanField(_("当场整改"), default=False)
    rectification_note = models.TextField(_("整改情况"), blank=True)
    rectified_at = models.DateTimeField(null=True, blank=True)
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reinspection_note = models.TextField(_("复查意见"), blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("隐患")
        verbose_name_plural = _("隐患")
        ordering = ["deadline", "created_at"]
        indexes = [
            # With the inspection, so that the statistics count the few hazards waiting for
            # re-inspection from the index alone (reporting/stats.py).
            models.Index(
                fields=["status", "deadline", "inspection"], name="hazard_status_deadline"
            ),
            models.Index(fields=["firm", "status"], name="hazard_firm_status"),
        ]

    def __str__(self):
        return self.description[:40]
