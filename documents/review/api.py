"""The documents API (API.md): list, detail, approve, reject; the document's shape that the
delivery API shares."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.models import DocType, Document, DocumentFrozen
from documents.review.services import do_approve_document, do_reject_document
from documents.rules import StorageUnavailable
from documents.selectors import access_document_by_id, documents_visible_to, filter_documents
from portal.access import membership_of
from portal.api_support import (
    Conflict,
    ServiceErrorsMixin,
    error_responses,
    paginated_response,
    parsed,
)
from portal.models import Role

TAGS = ["documents"]


class StorageDown(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy("文书存储暂时不可用，请稍后重试。")
    default_code = "storage_unavailable"


class DocumentErrorsMixin(ServiceErrorsMixin):
    """A signed document refusing a change is a state conflict (409) like any refused
    transition; storage failing during sign-off is on our side (503), and nothing was taken."""

    def handle_exception(self, exc):
        if isinstance(exc, DocumentFrozen):
            exc = Conflict(_("已签发的文书不能修改。"))
        elif isinstance(exc, StorageUnavailable):
            exc = StorageDown(str(exc))
        return super().handle_exception(exc)


class DocumentSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    rectification_order = serializers.PrimaryKeyRelatedField(
        source="order",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("整改复查意见书所复查的责令限期整改指令书的 id"),
    )
    superseded_by = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("更正本文书的新版本的 id（签发后本文书即为已被更正）"),
    )
    approved_by_name = serializers.CharField(
        source="approved_by.full_name", read_only=True, allow_null=True
    )
    pdf_available = serializers.SerializerMethodField(
        help_text=gettext_lazy("已生成签发文书的 PDF")
    )
    # Not read-only although nobody writes it: the schema marks read-only fields as always
    # present, and firm users never get this one.
    pdf_error = serializers.CharField(
        required=False,
        help_text=gettext_lazy("最近一次 PDF 转换失败的原因；企业用户看不到此字段"),
    )

    class Meta:
        model = Document
        fields = [
            "id",
            "doc_type",
            "status",
            "number",
            "firm",
            "firm_name",
            "agency",
            "agency_name",
            "inspection",
            "rectification_order",
            "version",
            "supersedes",
            "superseded_by",
            "review_reason",
            "reviewed_at",
            "sha256_docx",
            "sha256_pdf",
            "pdf_available",
            "pdf_error",
            "approved_by",
            "approved_by_name",
            "approved_at",
            "acknowledged_at",
            "acknowledged_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_pdf_available(self, document):
        return bool(document.pdf_key)


class FirmDocumentSerializer(DocumentSerializer):
    """A signed document as its firm sees it: why the PDF conversion failed is the bureau's
    business (the reason is LibreOffice's own output)."""

    pdf_error = None

    class Meta(DocumentSerializer.Meta):
        fields = [name for name in DocumentSerializer.Meta.fields if name != "pdf_error"]
        read_only_fields = fields


def _serializer_for(user):
    membership = membership_of(user)
    if membership is not None and membership.role == Role.FIRM_USER:
        return FirmDocumentSerializer
    return DocumentSerializer


class DocumentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Document.Status.choices, required=False)
    doc_type = serializers.ChoiceField(choices=DocType.choices, required=False)
    firm = serializers.UUIDField(required=False, help_text=gettext_lazy("企业的 id"))
    agency = serializers.UUIDField(required=False, help_text=gettext_lazy("服务机构的 id"))
    street = serializers.UUIDField(required=False, help_text=gettext_lazy("街道镇的 id"))
    inspection = serializers.UUIDField(required=False, help_text=gettext_lazy("检查的 id"))


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text=gettext_lazy("退回原因，检查机构据此修改后重新提交"))


def _filtered_documents(user, filters):
    inspection = filters.pop("inspection", None)
    # The reverse one-to-one is joined so that showing who corrects what costs no query per row.
    documents = filter_documents(
        documents_visible_to(user).select_related("superseded_by"), **filters
    )
    if inspection is not None:
        documents = documents.filter(inspection_id=inspection)
    return documents.order_by("-created_at", "pk")


def document_data(user, document_id):
    return _serializer_for(user)(access_document_by_id(user, document_id)).data


class DocumentListView(GenericAPIView):
    @extend_schema(
        operation_id="documents_list",
        tags=TAGS,
        parameters=[DocumentFilterSerializer],
        responses={200: DocumentSerializer(many=True), **error_responses(400, 401)},
        description=gettext_lazy(
            "机关人员看到本局全部文书，服务机构看到本机构的文书，企业用户只看到本企业已签发的文书。"
        ),
    )
    def get(self, request):
        filters = parsed(DocumentFilterSerializer, request.query_params)
        return paginated_response(
            self, _filtered_documents(request.user, filters), _serializer_for(request.user)
        )


class DocumentDetailView(APIView):
    @extend_schema(
        operation_id="documents_retrieve",
        tags=TAGS,
        responses={200: DocumentSerializer, **error_responses(401, 404)},
    )
    def get(self, request, document_id):
        return Response(document_data(request.user, document_id))


class DocumentApproveView(DocumentErrorsMixin, APIView):
    @extend_schema(
        operation_id="documents_approve",
        tags=TAGS,
        request=None,
        responses={200: DocumentSerializer, **error_responses(401, 403, 404, 409, 503)},
        description=gettext_lazy(
            "签发：取得本局该类文书当年的下一个文号，生成并保存最终 DOCX，文书即不可再改；"
            "PDF 随后生成。只有待审核的文书可以签发（否则 409）。"
        ),
    )
    def post(self, request, document_id):
        document = access_document_by_id(request.user, document_id)
        do_approve_document(actor=request.user, document=document)
        return Response(document_data(request.user, document.pk))


class DocumentRejectView(DocumentErrorsMixin, APIView):
    @extend_schema(
        operation_id="documents_reject",
        tags=TAGS,
        request=RejectSerializer,
        responses={200: DocumentSerializer, **error_responses(400, 401, 403, 404, 409)},
        description=gettext_lazy(
            "退回：现场检查记录或责令限期整改指令书退回时，检查连同其另一份草稿一并退回检查机构；"
            "整改复查意见书退回时，其隐患重新等待复查。"
        ),
    )
    def post(self, request, document_id):
        document = access_document_by_id(request.user, document_id)
        fields = parsed(RejectSerializer, request.data)
        do_reject_document(actor=request.user, document=document, **fields)
        return Response(document_data(request.user, document.pk))
