import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DocType(models.TextChoices):
    INSPECTION_RECORD = "inspection_record", _("现场检查记录")
    RECTIFICATION_ORDER = "rectification_order", _("责令限期整改指令书")
    REINSPECTION_OPINION = "reinspection_opinion", _("整改复查意见书")


# The number prefixes of the national safety-enforcement forms.
NUMBER_PREFIXES = {
    DocType.INSPECTION_RECORD: "应急检记",
    DocType.RECTIFICATION_ORDER: "应急责改",
    DocType.REINSPECTION_OPINION: "应急复查",
}
DEFAULT_NUMBER_FORMAT = "（{bureau}）{prefix}〔{year}〕{sequence}号"


class DocumentSettings(models.Model):
    """What a bureau writes into its documents: the appeal bodies and court named in an order,
    and the number format of each document type."""

    bureau = models.OneToOneField(
        "portal.Bureau", on_delete=models.CASCADE, related_name="document_settings"
    )
    review_government = models.CharField(_("行政复议机关（人民政府）"), max_length=128, blank=True)
    review_department = models.CharField(_("行政复议机关（部门）"), max_length=128, blank=True)
    court = models.CharField(_("行政诉讼法院"), max_length=128, blank=True)
    inspection_record_format = models.CharField(
        _("现场检查记录文号格式"), max_length=64, default=DEFAULT_NUMBER_FORMAT
    )
    rectification_order_format = models.CharField(
        _("责令限期整改指令书文号格式"), max_length=64, default=DEFAULT_NUMBER_FORMAT
    )
    reinspection_opinion_format = models.CharField(
        _("整改复查意见书文号格式"), max_length=64, default=DEFAULT_NUMBER_FORMAT
    )

    class Meta:
        verbose_name = _("文书设置")
        verbose_name_plural = _("文书设置")

    def __str__(self):
        return str(self.bureau)

    def number_format(self, doc_type):
        return getattr(self, f"{doc_type}_format")


class DocumentTemplate(models.Model):
    """One version of a bureau's .docx template for a document type. Versions are never edited:
    a document records the version it was rendered from, so a re-render gives the same text."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    doc_type = models.CharField(_("文书类型"), max_length=32, choices=DocType.choices)
    version = models.PositiveIntegerField(_("版本"))
    is_current = models.BooleanField(_("当前使用"), default=False)
    filename = models.CharField(_("文件名"), max_length=255)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("文书模板")
        verbose_name_plural = _("文书模板")
        ordering = ["doc_type", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["bureau", "doc_type", "version"], name="document_template_version_unique"
            ),
            models.UniqueConstraint(
                fields=["bureau", "doc_type"],
                condition=models.Q(is_current=True),
                name="document_template_one_current",
            ),
        ]

    def __str__(self):
        return f"{self.get_doc_type_display()} v{self.version}"


class DocumentCounter(models.Model):
    """The last number issued per bureau, document type and year. Taken under a row lock
    inside the approval's transaction, so a rolled-back approval leaves no gap (a database
    sequence would)."""

    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    doc_type = models.CharField(max_length=32, choices=DocType.choices)
    year = models.PositiveIntegerField()
    last_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bureau", "doc_type", "year"], name="document_counter_unique"
            )
        ]

    def __str__(self):
        return f"{self.bureau_id} {self.doc_type} {self.year}: {self.last_sequence}"


class DocumentFrozen(Exception):
    """A write that would change an approved (signed-off) document."""


# What may still happen to a signed-off document: it is superseded by a correction, the firm
# acknowledges it once, and its PDF rendition is added once (conversion may be retried).
WRITE_ONCE_FIELDS = frozenset(
    {"acknowledged_at", "acknowledged_by", "sha256_pdf", "pdf_key", "pdf_converted_at"}
)
PDF_RETRY_FIELDS = frozenset({"pdf_attempts", "pdf_error"})


class DocumentQuerySet(models.QuerySet):
    def _frozen(self):
        return self.filter(status__in=FROZEN_STATUSES)

    def update(self, **kwargs):
        touched = set(kwargs) - PDF_RETRY_FIELDS
        if touched and self._frozen().exists():
            raise DocumentFrozen(f"signed-off documents cannot be updated ({sorted(touched)})")
        return super().update(**kwargs)

    def delete(self):
        if self._frozen().exists():
            raise DocumentFrozen("signed-off documents cannot be deleted")
        return super().delete()


class Document(models.Model):
    """A legal document drafted from an inspection, reviewed by the bureau and, once approved,
    numbered and frozen: the model refuses any later change but those in WRITE_ONCE_FIELDS and
    the mark of being superseded by a correction."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待审核")
        APPROVED = "approved", _("已签发")
        REJECTED = "rejected", _("已退回")
        SUPERSEDED = "superseded", _("已被更正")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    bureau = models.ForeignKey("portal.Bureau", on_delete=models.PROTECT, related_name="+")
    doc_type = models.CharField(_("文书类型"), max_length=32, choices=DocType.choices)
    inspection = models.ForeignKey(
        "contractors.Inspection", on_delete=models.PROTECT, related_name="documents"
    )
    firm = models.ForeignKey("contractors.Firm", on_delete=models.PROTECT, related_name="documents")
    agency = models.ForeignKey(
        "contractors.Agency", on_delete=models.PROTECT, related_name="documents"
    )
    # The rectification order a re-inspection opinion follows up.
    order = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="opinions"
    )
    hazards = models.ManyToManyField("contractors.Hazard", related_name="documents", blank=True)
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    template = models.ForeignKey(DocumentTemplate, on_delete=models.PROTECT, related_name="+")
    context = models.JSONField()
    drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The approved document this one corrects; it is marked superseded on approval.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    review_reason = models.TextField(_("退回原因"), blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    year = models.PositiveIntegerField(null=True, blank=True)
    sequence = models.PositiveIntegerField(null=True, blank=True)
    number = models.CharField(_("文号"), max_length=64, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(_("签发时间"), null=True, blank=True)
    docx_key = models.CharField(max_length=255, blank=True)
    sha256_docx = models.CharField(max_length=64, blank=True)
    pdf_key = models.CharField(max_length=255, blank=True)
    sha256_pdf = models.CharField(max_length=64, blank=True)
    pdf_converted_at = models.DateTimeField(null=True, blank=True)
    pdf_attempts = models.PositiveIntegerField(default=0)
    pdf_error = models.TextField(blank=True)
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = _("法律文书")
        verbose_name_plural = _("法律文书")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "doc_type", "version"], name="document_version_unique"
            ),
            models.UniqueConstraint(
                fields=["bureau", "doc_type", "year", "sequence"], name="document_number_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["bureau", "status", "created_at"]),
            models.Index(fields=["firm", "status"]),
            # The sign-off days the statistics recount (reporting/figures.py).
            models.Index(fields=["bureau", "approved_at"], name="document_approved_day"),
        ]

    def __str__(self):
        return self.number or f"{self.get_doc_type_display()}（草稿 v{self.version}）"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self._refuse_frozen_change()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if type(self).objects.filter(pk=self.pk, status__in=FROZEN_STATUSES).exists():
            raise DocumentFrozen("signed-off documents cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_frozen(self):
        return self.status in FROZEN_STATUSES

    def _refuse_frozen_change(self):
        stored = type(self).objects.filter(pk=self.pk, status__in=FROZEN_STATUSES).first()
        if stored is None:
            return
        for field in self._meta.concrete_fields:
            before, after = field.value_from_object(stored), field.value_from_object(self)
            if before == after or field.name in PDF_RETRY_FIELDS:
                continue
            if field.name in WRITE_ONCE_FIELDS and before in (None, ""):
                continue
            if (
                field.name == "status"
                and before == self.Status.APPROVED
                and after == self.Status.SUPERSEDED
            ):
                continue
            raise DocumentFrozen(f"signed-off document: {field.name} cannot change")


FROZEN_STATUSES = (Document.Status.APPROVED, Document.Status.SUPERSEDED)
