"""The delivery API (API.md): signed downloads and the firm's acknowledgement."""

from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from documents.delivery.services import do_acknowledge_document, do_issue_document_download
from documents.review.api import TAGS, DocumentErrorsMixin, DocumentSerializer, document_data
from documents.selectors import access_document_by_id
from portal.api_support import error_responses, parsed


class DownloadFormatSerializer(serializers.Serializer):
    format = serializers.ChoiceField(
        choices=[("docx", "DOCX"), ("pdf", "PDF")],
        required=False,
        default="docx",
        help_text=gettext_lazy("下载 docx（默认）或 pdf"),
    )


class FileFormatNegotiation(DefaultContentNegotiation):
    """`?format=` names the file to download here, not a renderer (DRF's reading of it would
    answer 404); whatever this endpoint answers itself is JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class DocumentDownloadView(DocumentErrorsMixin, APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FileFormatNegotiation

    @extend_schema(
        operation_id="documents_download",
        tags=TAGS,
        parameters=[DownloadFormatSerializer],
        responses={
            302: OpenApiResponse(description=gettext_lazy("跳转到短时有效的下载地址")),
            **error_responses(400, 401, 404, 409),
        },
        description=gettext_lazy("签发的文书才有文件；PDF 尚未生成时返回 409。"),
    )
    def get(self, request, document_id):
        document = access_document_by_id(request.user, document_id)
        options = parsed(DownloadFormatSerializer, request.query_params)
        url = do_issue_document_download(
            actor=request.user, document=document, file_format=options["format"]
        )
        return HttpResponseRedirect(url)


class DocumentAcknowledgeView(DocumentErrorsMixin, APIView):
    @extend_schema(
        operation_id="documents_acknowledge",
        tags=TAGS,
        request=None,
        responses={200: DocumentSerializer, **error_responses(401, 403, 404, 409)},
        description=gettext_lazy("企业签收已签发的文书；再次签收不改变首次签收的时间。"),
    )
    def post(self, request, document_id):
        document = access_document_by_id(request.user, document_id)
        do_acknowledge_document(actor=request.user, document=document)
        return Response(document_data(request.user, document.pk))
