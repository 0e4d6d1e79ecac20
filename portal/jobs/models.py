import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class PeriodicRun(models.Model):
    """One period of one periodic job. The unique (job, period) row is the claim: of several
    schedulers firing for the same period (one per app machine), the one whose insert lands
    queues the job; the others find the row and do nothing."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        SUCCEEDED = "succeeded", _("已完成")
        FAILED = "failed", _("失败")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    job = models.CharField(_("任务"), max_length=64)
    period = models.DateTimeField(_("计划时间"))
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(_("已运行次数"), default=0)
    queued_at = models.DateTimeField(_("排队时间"))
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    # Set while a failed run waits for its next attempt; empty once it has given up.
    next_attempt_at = models.DateTimeField(_("下次重试时间"), null=True, blank=True)
    last_error = models.TextField(_("最近的错误"), blank=True)
    outcome = models.CharField(_("结果"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("定时任务运行")
        verbose_name_plural = _("定时任务运行")
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="periodic_run_once_per_period")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="periodic_run_due")]

    def __str__(self):
        return f"{self.job} @ {self.period:%Y-%m-%d %H:%M}"

    @property
    def gave_up(self):
        return self.status == self.Status.FAILED and self.next_attempt_at is None
