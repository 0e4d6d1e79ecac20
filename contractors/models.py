import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from contractors.uscc import validate_uscc


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
        ]
        permissions = [("inspect_firm", _("可以检查企业"))]

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


# --- Checklists, inspections, hazards, evidence ------------------------------------------------


class HazardCategory(models.TextChoices):
    PRODUCTION = "production", _("生产安全")
    FIRE = "fire", _("消防安全")
    SPECIAL_EQUIPMENT = "special_equipment", _("特种设备安全")
    OCCUPATIONAL_HEALTH = "occupational_health", _("职业健康安全")
    OTHER = "other", _("其他")


class HazardLevel(models.TextChoices):
    GENERAL = "general", _("一般事故隐患")
    MAJOR = "major", _("重大事故隐患")


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
            # The days the statistics count (portal/figures.py), with the fallback's columns.
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


class Hazard(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        RECTIFIED = "rectified", _("已整改待复查")
        VERIFIED = "verified", _("已复查销号")
        OVERDUE = "overdue", _("逾期未整改")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="hazards")
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="hazards")
    item = models.ForeignKey(
        ChecklistItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
            # re-inspection from the index alone (portal/stats.py).
            models.Index(
                fields=["status", "deadline", "inspection"], name="hazard_status_deadline"
            ),
            models.Index(fields=["firm", "status"], name="hazard_firm_status"),
        ]

    def __str__(self):
        return self.description[:40]


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
    key = models.CharField(max_length=255, unique=True)
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
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("证据材料")
        verbose_name_plural = _("证据材料")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="evidence_pending")]

    def __str__(self):
        return self.filename
