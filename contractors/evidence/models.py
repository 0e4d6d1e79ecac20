"""The tables of evidence (upload slots, confirmation, downloads, purging what was never
confirmed), with their invariants."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from contractors.hazards.models import Hazard
from contractors.inspections.models import Inspection


class Evidence(models.Model):
    """A photo or file in object storage, uploaded straight from the browser and confirmed by
    the server before anyone can see it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("上传中")
        CONFIRMED = "confirmed", _("已确认")

    class Purpose(models.TextChoices):
        FINDING = "finding", _("检查取证")
        ON_SPOT = "on_spot", _("当场整改后")
        RECTIFICATION = "rectification", _("整改材料")
        REINSPECTION = "reinspection", _("复查取证")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="evidence")
    hazard = models.ForeignKey(
        Hazard, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.FINDING)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Where the object is: the key its presigned POST grants while pending, a key under
    # `final/` that no POST policy ever grants once confirmed (rows confirmed before that
    # keep their upload key here and go on working).
    key = models.CharField(max_length=255, unique=True)
    # The confirmed row's former upload key: its presigned POST may put an object there until
    # `expires_at`, so the purge deletes it after that and clears this.
    upload_key = models.CharField(max_length=255, blank=True, default="")
    filename = models.CharField(_("文件名"), max_length=255)
    content_type = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    thumbnail_key = models.CharField(max_length=255, blank=True)
    taken_at = models.DateTimeField(_("拍摄时间"), null=True, blank=True)
    taken_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    taken_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # The client's Idempotency-Key for the request that made this slot (API.md), if it sent one.
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("证据材料")
        verbose_name_plural = _("证据材料")
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="evidence_pending"),
            # The purge's sweep of former upload keys reads these few rows, not every
            # confirmed row ever.
            models.Index(
                fields=["expires_at"],
                condition=~models.Q(upload_key=""),
                name="evidence_upload_key_to_clear",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["uploaded_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="evidence_idempotency_key_once",
            )
        ]

    def __str__(self):
        return self.filename
