import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The rooms' models, gathered here so that Django finds them.
from portal.audit.models import AuditChainHead  # noqa: F401
from portal.jobs.models import PeriodicRun  # noqa: F401


class User(AbstractUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    full_name = models.CharField(_("姓名"), max_length=64, blank=True)
    # An inspector's enforcement or inspection certificate, cited in every document.
    certificate_number = models.CharField(_("证件号"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self):
        return self.full_name or self.username


class Bureau(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("名称"), max_length=128, unique=True)
    short_name = models.CharField(_("简称"), max_length=8)
    region_code = models.CharField(_("行政区划代码"), max_length=6, unique=True)
    # Bureau admins and reviewers always need a second factor; a bureau may ask it of the
    # agency managers too.
    managers_need_second_factor = models.BooleanField(
        _("服务机构负责人须使用双因素认证"), default=False
    )

    class Meta:
        verbose_name = _("应急管理局")
        verbose_name_plural = _("应急管理局")

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("管理局管理员")
    BUREAU_REVIEWER = "bureau_reviewer", _("管理局审核员")
    AGENCY_MANAGER = "agency_manager", _("服务机构负责人")
    AGENCY_INSPECTOR = "agency_inspector", _("服务机构检查员")
    FIRM_USER = "firm_user", _("企业用户")


BUREAU_ROLES = frozenset({Role.BUREAU_ADMIN, Role.BUREAU_REVIEWER})
AGENCY_ROLES = frozenset({Role.AGENCY_MANAGER, Role.AGENCY_INSPECTOR})


class OrganisationKind(models.TextChoices):
    BUREAU = "bureau", _("应急管理局")
    AGENCY = "agency", _("第三方服务机构")
    FIRM = "firm", _("企业")


class Membership(models.Model):
    """A user's one organisation and role.

    Every membership carries its bureau, so one deployment can serve several districts; an
    agency or firm member also names that agency or firm.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    bureau = models.ForeignKey(Bureau, on_delete=models.PROTECT, related_name="memberships")
    agency = models.ForeignKey(
        "contractors.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    firm = models.ForeignKey(
        "contractors.Firm",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
    )

    class Meta:
        verbose_name = _("成员身份")
        verbose_name_plural = _("成员身份")
        constraints = [
            models.CheckConstraint(
                name="membership_organisation_matches_role",
                condition=(
                    models.Q(
                        role__in=sorted(r.value for r in BUREAU_ROLES),
                        agency__isnull=True,
                        firm__isnull=True,
                    )
                    | models.Q(
                        role__in=sorted(r.value for r in AGENCY_ROLES),
                        agency__isnull=False,
                        firm__isnull=True,
                    )
                    | models.Q(role=Role.FIRM_USER, agency__isnull=True, firm__isnull=False)
                ),
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"

    @property
    def kind(self):
        if self.role in BUREAU_ROLES:
            return OrganisationKind.BUREAU
        if self.role in AGENCY_ROLES:
            return OrganisationKind.AGENCY
        return OrganisationKind.FIRM

    @property
    def organisation(self):
        return {
            OrganisationKind.BUREAU: self.bureau,
            OrganisationKind.AGENCY: self.agency,
            OrganisationKind.FIRM: self.firm,
        }[self.kind]

    @property
    def is_bureau_staff(self):
        return self.role in BUREAU_ROLES

    @property
    def is_agency_staff(self):
        return self.role in AGENCY_ROLES


class AuditEvent(models.Model):
    """Append-only record of a state change or a download: who, what, when (UTC), from where.

    Each event is the next link of its bureau's chain (`portal/audit/chain.py`): `sequence`
    counts the chain from 1 and `hash` covers the event's fields and the previous event's hash,
    so that `manage.py verify_audit` finds a row altered, deleted or moved. The database itself
    refuses UPDATE and DELETE on this table (migration 0007)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Set by the chain when the event is linked, not by the field: the hash covers it.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    bureau = models.ForeignKey(
        Bureau, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    sequence = models.PositiveBigIntegerField(default=0, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["-at"]
        constraints = [
            # Two links with one number would be a forked chain; events of no bureau are a
            # chain of their own, and NULLs are never equal in a unique index.
            models.UniqueConstraint(fields=["bureau", "sequence"], name="audit_chain_sequence"),
            models.UniqueConstraint(
                fields=["sequence"],
                condition=models.Q(bureau__isnull=True),
                name="audit_chain_sequence_no_bureau",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type}:{self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are append-only")


class DailyFigures(models.Model):
    """The additive figures of one day of a bureau's work, per agency, street and park. Derived
    from the inspections, hazards and documents of that day and recounted whenever they change
    (`reporting/figures.py`), so that the statistics add up a few rows per day instead of counting
    every hazard of the year.

    `day` is the inspection date for inspections and hazards, the local date of sign-off for
    documents. Hazards are counted per category (`<category>_<figure>`). A distinct count of
    firms does not add up across days, so each inspection is counted once more where it is its
    firm's first of the calendar year or month (`firms_*`), and where it is the first by that
    agency (`agency_firms_*`)."""

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    agency = models.ForeignKey("contractors.Agency", on_delete=models.CASCADE, related_name="+")
    street = models.ForeignKey("contractors.Street", on_delete=models.CASCADE, related_name="+")
    park = models.ForeignKey(
        "contractors.Park", null=True, on_delete=models.CASCADE, related_name="+"
    )
    inspections = models.PositiveIntegerField(default=0)
    firms_year = models.PositiveIntegerField(default=0)
    firms_month = models.PositiveIntegerField(default=0)
    agency_firms_year = models.PositiveIntegerField(default=0)
    agency_firms_month = models.PositiveIntegerField(default=0)
    documents_issued = models.PositiveIntegerField(default=0)
    production_hazards = models.PositiveIntegerField(default=0)
    production_major = models.PositiveIntegerField(default=0)
    production_rectified = models.PositiveIntegerField(default=0)
    production_overdue = models.PositiveIntegerField(default=0)
    fire_hazards = models.PositiveIntegerField(default=0)
    fire_major = models.PositiveIntegerField(default=0)
    fire_rectified = models.PositiveIntegerField(default=0)
    fire_overdue = models.PositiveIntegerField(default=0)
    special_equipment_hazards = models.PositiveIntegerField(default=0)
    special_equipment_major = models.PositiveIntegerField(default=0)
    special_equipment_rectified = models.PositiveIntegerField(default=0)
    special_equipment_overdue = models.PositiveIntegerField(default=0)
    occupational_health_hazards = models.PositiveIntegerField(default=0)
    occupational_health_major = models.PositiveIntegerField(default=0)
    occupational_health_rectified = models.PositiveIntegerField(default=0)
    occupational_health_overdue = models.PositiveIntegerField(default=0)
    other_hazards = models.PositiveIntegerField(default=0)
    other_major = models.PositiveIntegerField(default=0)
    other_rectified = models.PositiveIntegerField(default=0)
    other_overdue = models.PositiveIntegerField(default=0)

    # The per-category figures, by the names of the statistics' rows.
    HAZARD_FIGURES = ("hazards", "major", "rectified", "overdue")

    class Meta:
        indexes = [models.Index(fields=["bureau", "day"], name="daily_figures_day")]

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"


class _Days(models.Model):
    """The days of one calendar year a firm was inspected on: in `month_<m>`, bit d - 1 is set
    when a submitted inspection of the firm is dated day d of month m. Kept with `DailyFigures`
    (`reporting/inspected_days.py`) for the distinct firms of the periods whose first-inspection
    flags cannot count them: a firm was inspected in a period when its row has a bit inside
    it, and a year of a district is a row per firm instead of its every inspection. `street`
    and `park` are the firm's."""

    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="+")
    year = models.PositiveSmallIntegerField()
    # No index of their own: the rows are read by bureau and year (the unique index), and a
    # recount rewrites thousands of them at once.
    firm = models.ForeignKey(
        "contractors.Firm", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    street = models.ForeignKey(
        "contractors.Street", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    park = models.ForeignKey(
        "contractors.Park", null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    month_1 = models.PositiveIntegerField(default=0)
    month_2 = models.PositiveIntegerField(default=0)
    month_3 = models.PositiveIntegerField(default=0)
    month_4 = models.PositiveIntegerField(default=0)
    month_5 = models.PositiveIntegerField(default=0)
    month_6 = models.PositiveIntegerField(default=0)
    month_7 = models.PositiveIntegerField(default=0)
    month_8 = models.PositiveIntegerField(default=0)
    month_9 = models.PositiveIntegerField(default=0)
    month_10 = models.PositiveIntegerField(default=0)
    month_11 = models.PositiveIntegerField(default=0)
    month_12 = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.year}"


class InspectedDays(_Days):
    """The days a firm was inspected on, by any agency (see `_Days`)."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bureau", "year", "firm"], name="inspected_days_unique")
        ]


class AgencyInspectedDays(_Days):
    """The days an agency inspected a firm on (see `_Days`): for the firms of each agency."""

    agency = models.ForeignKey(
        "contractors.Agency", on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bureau", "year", "firm", "agency"], name="agency_inspected_days_unique"
            )
        ]


class FiguresChange(models.Model):
    """A day of a bureau whose `DailyFigures` are out of date: written by the change, in its
    transaction; consumed when the figures are next read. Append-only: `reporting/figures.py`
    says why."""

    id = models.BigAutoField(primary_key=True)
    bureau = models.ForeignKey(Bureau, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"
