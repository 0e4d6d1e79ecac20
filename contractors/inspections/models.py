"""The tables of inspections (start, answer the checklist, submit, accept or return), with their
invariants."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contractors.checklists.models import Checklist, ChecklistItem
from contractors.register.models import Firm
from contractors.tenancy.models import Agency, Contract


class Inspection(models.Model):
    class Kind(models.TextChoices):
        ROUTINE = "routine", _("日常检查")
        CAMPAIGN = "campaign", _("专项检查")
        REINSPECTION = "reinspection", _("复查")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        RETURNED = "returned", _("已退回")
        ACCEPTED = "accepted", _("已通过")

    EDITABLE = (Status.DRAFT, Status.RETURNED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="inspections")
    # The agency that did the work keeps seeing it after the firm moves to another agency.
    agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="inspections")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="inspections")
    checklist = models.ForeignKey(Checklist, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("检查类型"), max_length=16, choices=Kind.choices)
    campaign = models.CharField(_("专项整治"), max_length=128, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    inspected_on = models.DateField(_("检查日期"))
    time_from = models.TimeField(_("检查开始时间"), null=True, blank=True)
    time_to = models.TimeField(_("检查结束时间"), null=True, blank=True)
    inspectors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="inspections", verbose_name=_("检查人员")
    )
    firm_representative = models.CharField(_("企业在场人员"), max_length=64)
    firm_representative_post = models.CharField(_("职务"), max_length=64, blank=True)
    firm_representative_phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    place = models.CharField(_("检查场所"), max_length=255, blank=True)
    latitude = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(
        _("经度"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    return_reason = models.TextField(_("退回原因"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("检查")
        verbose_name_plural = _("检查")
        ordering = ["-inspected_on", "-created_at"]
        indexes = [
            models.Index(fields=["firm", "-inspected_on"], name="inspection_firm_date"),
            models.Index(fields=["agency", "status"], name="inspection_agency_status"),
            # The days the statistics count (reporting/figures.py), with the fallback's columns.
            models.Index(
                fields=["bureau", "inspected_on", "firm", "agency"],
                condition=models.Q(submitted_at__isnull=False),
                name="inspection_counted_day",
            ),
        ]

    def __str__(self):
        return f"{self.firm} {self.inspected_on:%Y-%m-%d}"

    @property
    def is_editable(self):
        return self.status in self.EDITABLE


class ChecklistAnswer(models.Model):
    class Answer(models.TextChoices):
        PASS = "pass", _("符合")
        HAZARD = "hazard", _("存在隐患")
        NOT_APPLICABLE = "not_applicable", _("不适用")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(_("结果"), max_length=16, choices=Answer.choices)
    note = models.CharField(_("说明"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("检查项结果")
        verbose_name_plural = _("检查项结果")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="answer_once_per_item"),
        ]

    def __str__(self):
        return f"{self.item} · {self.get_answer_display()}"
