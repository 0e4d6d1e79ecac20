"""The API of the inspector's work: inspections with their checklist answers, hazards with the
firm's rectification and the agency's re-inspection, and the evidence behind them."""

from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.models import (
    ChecklistAnswer,
    Evidence,
    Hazard,
    HazardCategory,
    HazardLevel,
    Inspection,
)
from contractors.selectors import (
    access_evidence_by_id,
    access_hazard_by_id,
    access_inspection_by_id,
    checklist_with_answers,
    firms_visible_to,
    hazards_visible_to,
    inspections_visible_to,
)
from contractors.services import (
    InvalidTransition,
    do_answer_item,
    do_confirm_evidence,
    do_issue_evidence_download,
    do_record_hazard,
    do_rectify_hazard,
    do_reinspect_hazard,
    do_request_evidence_upload,
    do_start_inspection,
    do_submit_inspection,
    do_update_hazard,
    do_update_inspection,
)
from documents.selectors import documents_visible_to
from portal.access import membership_of
from portal.api_support import error_responses, paginated_response, parsed
from portal.models import Role


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("当前状态不允许这项操作。")
    default_code = "conflict"


class ServiceErrorsMixin:
    """The services refuse an action the state does not allow with InvalidTransition, a
    ValidationError the shared handler would answer as bad input; the contract says 409."""

    def handle_exception(self, exc):
        if isinstance(exc, InvalidTransition):
            exc = Conflict(" ".join(exc.messages))
        return super().handle_exception(exc)


# --- Serializers ---------------------------------------------------------------------------------


class ChecklistEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    category = serializers.ChoiceField(choices=HazardCategory.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    legal_basis = serializers.CharField(read_only=True)
    requirement = serializers.CharField(read_only=True)
    answer = serializers.ChoiceField(
        choices=ChecklistAnswer.Answer.choices,
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("检查结果，未填写时为 null"),
    )
    note = serializers.CharField(source="answer_note", read_only=True, allow_null=True)
    hazard = serializers.UUIDField(
        source="hazard_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("由该项登记的隐患的 id"),
    )


class HazardSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)

    class Meta:
        model = Hazard
        fields = [
            "id",
            "inspection",
            "firm",
            "firm_name",
            "item",
            "category",
            "level",
            "description",
            "location",
            "legal_basis",
            "requirement",
            "deadline",
            "status",
            "rectified_on_spot",
            "rectification_note",
            "rectified_at",
            "reinspection_note",
            "verified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InspectionSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    checklist_version = serializers.IntegerField(source="checklist.version", read_only=True)
    inspector_names = serializers.SlugRelatedField(
        source="inspectors", slug_field="full_name", many=True, read_only=True
    )
    latitude = serializers.FloatField(read_only=True, allow_null=True)
    longitude = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "firm",
            "firm_name",
            "agency",
            "agency_name",
            "contract",
            "checklist_version",
            "kind",
            "campaign",
            "status",
            "inspected_on",
            "time_from",
            "time_to",
            "inspectors",
            "inspector_names",
            "firm_representative",
            "firm_representative_post",
            "firm_representative_phone",
            "place",
            "latitude",
            "longitude",
            "return_reason",
            "created_by",
            "created_at",
            "submitted_at",
        ]
        read_only_fields = fields


class InspectionDetailSerializer(InspectionSerializer):
    checklist = ChecklistEntrySerializer(source="checklist_entries", many=True, read_only=True)
    hazards = HazardSerializer(source="visible_hazards", many=True, read_only=True)

    class Meta(InspectionSerializer.Meta):
        fields = [*InspectionSerializer.Meta.fields, "checklist", "hazards"]
        read_only_fields = fields


class SubmittedInspectionSerializer(InspectionDetailSerializer):
    documents = serializers.ListField(
        source="drafted_document_ids",
        child=serializers.UUIDField(),
        read_only=True,
        help_text=gettext_lazy("本次提交起草的待审核文书的 id"),
    )

    class Meta(InspectionDetailSerializer.Meta):
        fields = [*InspectionDetailSerializer.Meta.fields, "documents"]
        read_only_fields = fields


class InspectionUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices)
    campaign = serializers.CharField(required=False, allow_blank=True)
    inspected_on = serializers.DateField()
    time_from = serializers.TimeField(required=False, allow_null=True)
    time_to = serializers.TimeField(required=False, allow_null=True)
    inspectors = serializers.ListField(
        child=serializers.UUIDField(),
        help_text=gettext_lazy("本机构检查人员的用户 id，至少两人"),
    )
    firm_representative = serializers.CharField(
        allow_blank=True, help_text=gettext_lazy("企业在场人员姓名")
    )
    firm_representative_post = serializers.CharField(required=False, allow_blank=True)
    firm_representative_phone = serializers.CharField(required=False, allow_blank=True)
    place = serializers.CharField(required=False, allow_blank=True)
    # Floats: a phone reports more decimals than are kept, and the service rounds them.
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)


class InspectionCreateSerializer(InspectionUpdateSerializer):
    firm = serializers.UUIDField(help_text=gettext_lazy("企业的 id"))


class InspectionFilterSerializer(serializers.Serializer):
    firm = serializers.UUIDField(required=False, help_text=gettext_lazy("企业的 id"))
    status = serializers.ChoiceField(choices=Inspection.Status.choices, required=False)
    agency = serializers.UUIDField(required=False, help_text=gettext_lazy("服务机构的 id"))


class AnswerSerializer(serializers.Serializer):
    item = serializers.UUIDField(help_text=gettext_lazy("本次检查所用检查表中检查项的 id"))
    answer = serializers.ChoiceField(choices=ChecklistAnswer.Answer.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class HazardUpdateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=HazardCategory.choices)
    level = serializers.ChoiceField(choices=HazardLevel.choices)
    description = serializers.CharField(allow_blank=True)
    location = serializers.CharField(required=False, allow_blank=True)
    legal_basis = serializers.CharField(required=False, allow_blank=True)
    requirement = serializers.CharField(required=False, allow_blank=True)
    deadline = serializers.DateField()
    rectified_on_spot = serializers.BooleanField(
        required=False, help_text=gettext_lazy("当场整改（仅限一般事故隐患，须有整改后照片）")
    )


class HazardCreateSerializer(HazardUpdateSerializer):
    item = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("发现该隐患的检查项的 id"),
    )


class ReinspectedHazardSerializer(HazardSerializer):
    document = serializers.UUIDField(
        source="drafted_opinion_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("起草或更新的整改复查意见书的 id；没有时为 null"),
    )

    class Meta(HazardSerializer.Meta):
        fields = [*HazardSerializer.Meta.fields, "document"]
        read_only_fields = fields


class HazardFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Hazard.Status.choices, required=False)
    firm = serializers.UUIDField(required=False, help_text=gettext_lazy("企业的 id"))
    inspection = serializers.UUIDField(required=False, help_text=gettext_lazy("检查的 id"))


class EvidenceIdsField(serializers.ListField):
    child = serializers.UUIDField()

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            default=list,
            help_text=gettext_lazy("已确认的证据材料的 id"),
            **kwargs,
        )


class RectifySerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, help_text=gettext_lazy("整改情况"))
    evidence = EvidenceIdsField()


class ReinspectSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text=gettext_lazy("复查是否通过"))
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=gettext_lazy("复查意见")
    )
    evidence = EvidenceIdsField()
    deadline = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("未通过时的新整改期限（未通过时必填）"),
    )


# --- Helpers -------------------------------------------------------------------------------------


def _visible_firm(user, firm_id):
    """The firm named in a request body; the same 400 for a missing firm and one not visible."""
    firm = firms_visible_to(user).filter(pk=firm_id).first()
    if firm is None:
        raise ValidationError({"firm": _("找不到这家企业，或本机构目前不负责这家企业。")})
    return firm


def _checklist_item(inspection, item_id):
    """An item of the checklist version the inspection uses (a 400 on `item` otherwise)."""
    item = checklist_with_answers(inspection).filter(pk=item_id).first()
    if item is None:
        raise ValidationError({"item": _("该检查项不属于本次检查使用的检查表。")})
    return item


def _detailed_inspection(user, inspection_id):
    inspection = access_inspection_by_id(user, inspection_id)
    inspection.checklist_entries = list(checklist_with_answers(inspection))
    inspection.visible_hazards = list(
        hazards_visible_to(user).filter(inspection=inspection).order_by("created_at")
    )
    return inspection


def _inspection_detail(user, inspection_id):
    return InspectionDetailSerializer(_detailed_inspection(user, inspection_id)).data


def _hazard_data(user, hazard_id):
    return HazardSerializer(access_hazard_by_id(user, hazard_id)).data


def _visible_document_id(user, document):
    # The opinion belongs to the agency of the order it follows up: an agency that took the firm
    # over re-inspects, but may not see that agency's documents.
    if document is None or not documents_visible_to(user).filter(pk=document.pk).exists():
        return None
    return document.pk


def _filtered_inspections(user, filters):
    inspections = inspections_visible_to(user)
    if "firm" in filters:
        inspections = inspections.filter(firm_id=filters["firm"])
    if "status" in filters:
        inspections = inspections.filter(status=filters["status"])
    if "agency" in filters:
        inspections = inspections.filter(agency_id=filters["agency"])
    return inspections.order_by("-inspected_on", "-created_at", "pk")


def _filtered_hazards(user, filters):
    hazards = hazards_visible_to(user)
    if "status" in filters:
        hazards = hazards.filter(status=filters["status"])
    if "firm" in filters:
        hazards = hazards.filter(firm_id=filters["firm"])
    if "inspection" in filters:
        hazards = hazards.filter(inspection_id=filters["inspection"])
    return hazards.order_by("deadline", "created_at", "pk")


# --- Inspections ---------------------------------------------------------------------------------

TAGS = ["inspections"]


class InspectionListView(ServiceErrorsMixin, GenericAPIView):
    @extend_schema(
        operation_id="inspections_list",
        tags=TAGS,
        parameters=[InspectionFilterSerializer],
        responses={200: InspectionSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = parsed(InspectionFilterSerializer, request.query_params)
        return paginated_response(
            self, _filtered_inspections(request.user, filters), InspectionSerializer
        )

    @extend_schema(
        operation_id="inspections_create",
        tags=TAGS,
        request=InspectionCreateSerializer,
        responses={201: InspectionDetailSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request):
        fields = parsed(InspectionCreateSerializer, request.data)
        firm = _visible_firm(request.user, fields.pop("firm"))
        inspection = do_start_inspection(actor=request.user, firm=firm, **fields)
        return Response(
            _inspection_detail(request.user, inspection.pk), status=status.HTTP_201_CREATED
        )


class InspectionDetailView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_retrieve",
        tags=TAGS,
        responses={200: InspectionDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request, inspection_id):
        return Response(_inspection_detail(request.user, inspection_id))

    @extend_schema(
        operation_id="inspections_partial_update",
        tags=TAGS,
        request=InspectionUpdateSerializer,
        responses={200: InspectionDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(InspectionUpdateSerializer, request.data, partial=True)
        do_update_inspection(actor=request.user, inspection=inspection, **fields)
        return Response(_inspection_detail(request.user, inspection.pk))


class InspectionAnswerView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_answer",
        tags=TAGS,
        request=AnswerSerializer,
        responses={200: ChecklistEntrySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(AnswerSerializer, request.data)
        item = _checklist_item(inspection, fields.pop("item"))
        do_answer_item(actor=request.user, inspection=inspection, item=item, **fields)
        return Response(ChecklistEntrySerializer(_checklist_item(inspection, item.pk)).data)


class InspectionHazardView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_hazards_create",
        tags=TAGS,
        request=HazardCreateSerializer,
        responses={201: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(HazardCreateSerializer, request.data)
        item_id = fields.pop("item", None)
        item = _checklist_item(inspection, item_id) if item_id else None
        hazard = do_record_hazard(actor=request.user, inspection=inspection, item=item, **fields)
        return Response(_hazard_data(request.user, hazard.pk), status=status.HTTP_201_CREATED)


class InspectionSubmitView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_submit",
        tags=TAGS,
        request=None,
        responses={
            200: SubmittedInspectionSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        description=gettext_lazy(
            "提交检查，起草现场检查记录和（有待整改隐患时）责令限期整改指令书，交机关审核。"
        ),
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        submitted = do_submit_inspection(actor=request.user, inspection=inspection)
        detail = _detailed_inspection(request.user, inspection.pk)
        detail.drafted_document_ids = [document.pk for document in submitted.drafted_documents]
        return Response(SubmittedInspectionSerializer(detail).data)


# --- Hazards -------------------------------------------------------------------------------------

HAZARD_TAGS = ["hazards"]


class HazardListView(GenericAPIView):
    @extend_schema(
        operation_id="hazards_list",
        tags=HAZARD_TAGS,
        parameters=[HazardFilterSerializer],
        responses={200: HazardSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = parsed(HazardFilterSerializer, request.query_params)
        return paginated_response(self, _filtered_hazards(request.user, filters), HazardSerializer)


class HazardDetailView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_retrieve",
        tags=HAZARD_TAGS,
        responses={200: HazardSerializer, **error_responses(401, 404)},
    )
    def get(self, request, hazard_id):
        return Response(_hazard_data(request.user, hazard_id))

    @extend_schema(
        operation_id="hazards_partial_update",
        tags=HAZARD_TAGS,
        request=HazardUpdateSerializer,
        responses={200: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(HazardUpdateSerializer, request.data, partial=True)
        do_update_hazard(actor=request.user, hazard=hazard, **fields)
        return Response(_hazard_data(request.user, hazard.pk))


class HazardRectifyView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_rectify",
        tags=HAZARD_TAGS,
        request=RectifySerializer,
        responses={200: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(RectifySerializer, request.data)
        do_rectify_hazard(actor=request.user, hazard=hazard, **fields)
        return Response(_hazard_data(request.user, hazard.pk))


class HazardReinspectView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_reinspect",
        tags=HAZARD_TAGS,
        request=ReinspectSerializer,
        responses={200: ReinspectedHazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(ReinspectSerializer, request.data)
        reinspected = do_reinspect_hazard(actor=request.user, hazard=hazard, **fields)
        shown = access_hazard_by_id(request.user, hazard.pk)
        shown.drafted_opinion_id = _visible_document_id(request.user, reinspected.drafted_opinion)
        return Response(ReinspectedHazardSerializer(shown).data)


# --- Evidence ------------------------------------------------------------------------------------

EVIDENCE_TAGS = ["evidence"]


class EvidenceSerializer(serializers.ModelSerializer):
    taken_latitude = serializers.FloatField(read_only=True, allow_null=True)
    taken_longitude = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Evidence
        fields = [
            "id",
            "inspection",
            "hazard",
            "purpose",
            "status",
            "filename",
            "content_type",
            "size",
            "sha256",
            "taken_at",
            "taken_latitude",
            "taken_longitude",
            "uploaded_by",
            "created_at",
            "expires_at",
            "confirmed_at",
        ]
        read_only_fields = fields


class UploadRequestSerializer(serializers.Serializer):
    inspection = serializers.UUIDField(
        required=False, help_text=gettext_lazy("检查的 id（与 hazard 二选一）")
    )
    hazard = serializers.UUIDField(required=False, help_text=gettext_lazy("隐患的 id"))
    purpose = serializers.ChoiceField(
        choices=Evidence.Purpose.choices,
        required=False,
        help_text=gettext_lazy("用途：检查取证（默认）、当场整改后照片、企业整改材料或复查取证"),
    )
    filename = serializers.CharField(max_length=255)
    content_type = serializers.CharField(max_length=64)
    size = serializers.IntegerField(min_value=1)
    sha256 = serializers.CharField(help_text=gettext_lazy("文件的 SHA-256，64 位十六进制"))

    def validate(self, data):
        if not data.keys() & {"inspection", "hazard"}:
            raise serializers.ValidationError(
                {"inspection": [_("请指定证据材料所属的检查或隐患。")]}
            )
        return data


class UploadFormSerializer(serializers.Serializer):
    url = serializers.CharField(help_text=gettext_lazy("以 multipart/form-data POST 上传到此地址"))
    fields = serializers.DictField(
        child=serializers.CharField(), help_text=gettext_lazy("随文件一并提交的表单字段")
    )


class UploadSlotSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text=gettext_lazy("pending，同一文件已确认时为 confirmed"))
    upload = UploadFormSerializer(allow_null=True)
    expires_at = serializers.DateTimeField()


class DownloadFilterSerializer(serializers.Serializer):
    thumbnail = serializers.BooleanField(
        required=False, default=False, help_text=gettext_lazy("下载照片的缩略图")
    )


def _slot_target(user, fields):
    """The inspection and hazard a slot is asked for, each looked up within what `user` sees."""
    inspection_id = fields.pop("inspection", None)
    if "hazard" not in fields:
        return access_inspection_by_id(user, inspection_id), None
    hazard = access_hazard_by_id(user, fields.pop("hazard"))
    # The agency now holding the firm re-inspects hazards another agency recorded: seeing the
    # hazard is enough, the service decides who may add what.
    if inspection_id is not None and str(inspection_id) != str(hazard.inspection_id):
        raise ValidationError({"hazard": [_("隐患不属于该检查。")]})
    return hazard.inspection, hazard


def _default_purpose(user):
    # What a firm uploads is always its rectification material.
    membership = membership_of(user)
    if membership is not None and membership.role == Role.FIRM_USER:
        return Evidence.Purpose.RECTIFICATION
    return Evidence.Purpose.FINDING


class EvidenceUploadView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="evidence_uploads_create",
        tags=EVIDENCE_TAGS,
        request=UploadRequestSerializer,
        responses={
            201: UploadSlotSerializer,
            200: UploadSlotSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        description=gettext_lazy(
            "申请上传位置：201 时把文件连同 upload.fields 以 multipart/form-data POST 到 "
            "upload.url，再调用 confirm。同一文件已确认过时返回 200，upload 为 null。"
        ),
    )
    def post(self, request):
        fields = parsed(UploadRequestSerializer, request.data)
        inspection, hazard = _slot_target(request.user, fields)
        purpose = fields.pop("purpose", None) or _default_purpose(request.user)
        evidence, upload = do_request_evidence_upload(
            actor=request.user, inspection=inspection, hazard=hazard, purpose=purpose, **fields
        )
        body = {
            "id": evidence.pk,
            "status": evidence.status,
            "upload": upload,
            "expires_at": evidence.expires_at,
        }
        return Response(
            UploadSlotSerializer(body).data,
            status=status.HTTP_200_OK if upload is None else status.HTTP_201_CREATED,
        )


class EvidenceDetailView(APIView):
    @extend_schema(
        operation_id="evidence_retrieve",
        tags=EVIDENCE_TAGS,
        responses={200: EvidenceSerializer, **error_responses(401, 404)},
    )
    def get(self, request, evidence_id):
        return Response(EvidenceSerializer(access_evidence_by_id(request.user, evidence_id)).data)


class EvidenceConfirmView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="evidence_confirm",
        tags=EVIDENCE_TAGS,
        request=None,
        responses={200: EvidenceSerializer, **error_responses(400, 401, 403, 404)},
        description=gettext_lazy(
            "检查已上传的文件（存在、大小、类型、SHA-256）；不符时删除文件并返回 400 和原因。"
        ),
    )
    def post(self, request, evidence_id):
        evidence = access_evidence_by_id(request.user, evidence_id)
        confirmed = do_confirm_evidence(actor=request.user, evidence=evidence)
        return Response(EvidenceSerializer(confirmed).data)


class EvidenceDownloadView(APIView):
    @extend_schema(
        operation_id="evidence_download",
        tags=EVIDENCE_TAGS,
        parameters=[DownloadFilterSerializer],
        responses={
            302: OpenApiResponse(description=gettext_lazy("跳转到短时有效的下载地址")),
            **error_responses(401, 404),
        },
    )
    def get(self, request, evidence_id):
        evidence = access_evidence_by_id(request.user, evidence_id)
        options = parsed(DownloadFilterSerializer, request.query_params)
        url = do_issue_evidence_download(actor=request.user, evidence=evidence, **options)
        return HttpResponseRedirect(url)
