"""The API of evidence (upload slots, confirmation, downloads, purging what was never confirmed)
(API.md): access helper, service, response."""

from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.evidence.models import Evidence
from contractors.evidence.selectors import access_evidence_by_id
from contractors.evidence.services import (
    EvidenceStorageFailed,
    do_confirm_evidence,
    do_issue_evidence_download,
    do_request_evidence_upload,
)
from contractors.hazards.selectors import access_hazard_by_id
from contractors.inspections.selectors import (
    access_inspection_by_id,
)
from portal.access import membership_of
from portal.api_support import ServiceErrorsMixin, error_responses, parsed
from portal.models import Role

EVIDENCE_TAGS = ["evidence"]


class StorageDown(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy("文件存储暂时不可用，请稍后重试。")
    default_code = "storage_unavailable"


class EvidenceErrorsMixin(ServiceErrorsMixin):
    """Object storage failing is on our side (503), and nothing was confirmed: the same request
    can be sent again."""

    def handle_exception(self, exc):
        if isinstance(exc, EvidenceStorageFailed):
            exc = StorageDown(str(exc))
        return super().handle_exception(exc)


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


class EvidenceUploadView(EvidenceErrorsMixin, APIView):
    @extend_schema(
        operation_id="evidence_uploads_create",
        tags=EVIDENCE_TAGS,
        request=UploadRequestSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=gettext_lazy(
                    "客户端生成的唯一值（不超过 128 个 ASCII 字符）：同一值再次提交时返回第一次"
                    "申请的上传位置，不再新建"
                ),
            )
        ],
        responses={
            201: UploadSlotSerializer,
            200: UploadSlotSerializer,
            **error_responses(400, 401, 403, 404, 409, 503),
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
            actor=request.user,
            inspection=inspection,
            hazard=hazard,
            purpose=purpose,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **fields,
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


class EvidenceConfirmView(EvidenceErrorsMixin, APIView):
    @extend_schema(
        operation_id="evidence_confirm",
        tags=EVIDENCE_TAGS,
        request=None,
        responses={200: EvidenceSerializer, **error_responses(400, 401, 403, 404, 503)},
        description=gettext_lazy(
            "检查已上传的文件（存在、大小、类型、SHA-256）；不符时删除文件并返回 400 和原因。"
            "确认后文件另存一份，此后再向原上传地址提交的内容不会改变下载到的文件。"
            "存储暂时不可用时返回 503，尚未确认，可再次确认。"
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
