"""The tables of the inspection checklist and its legal basis, with their invariants."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from contractors.hazards.models import HazardCategory


class Checklist(models.Model):
    """One version of the bureau's inspection checklist. A version that an inspection has used
    is never edited again: changes go into a new version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="checklists")
    name = models.CharField(_("名称"), max_length=128)
    version = models.PositiveIntegerField(_("版本"))
    is_current = models.BooleanField(_("当前使用"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检查表")
        verbose_name_plural = _("检查表")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["bureau", "name", "version"], name="checklist_version"),
            models.UniqueConstraint(
                fields=["bureau"], condition=models.Q(is_current=True), name="checklist_one_current"
            ),
        ]

    def __str__(self):
        return f"{self.name}（第{self.version}版）"


class ChecklistItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("序号"))
    category = models.CharField(_("隐患类别"), max_length=24, choices=HazardCategory.choices)
    text = models.CharField(_("检查内容"), max_length=255)
    legal_basis = models.CharField(_("法律依据"), max_length=255)
    requirement = models.CharField(_("整改要求"), max_length=255)

    class Meta:
        verbose_name = _("检查项")
        verbose_name_plural = _("检查项")
        ordering = ["checklist", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["checklist", "position"], name="checklist_item_position"
            ),
        ]

    def __str__(self):
        return f"{self.position}. {self.text}"
