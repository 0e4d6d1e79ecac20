"""The reviewer's retry of a signed document's PDF."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from documents.page_support import back_to_document
from documents.pdf.conversion import pdf_available
from documents.pdf.services import do_convert_document_pdf
from documents.selectors import access_document_by_id
from portal.access import require_role
from portal.models import Role


@require_POST
@login_required
def document_retry_pdf(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    document = do_convert_document_pdf(document=document)
    if document.pdf_key:
        messages.success(request, _("PDF 已生成。"))
    elif not pdf_available():
        messages.error(request, _("本服务器未安装 LibreOffice，仅提供 DOCX 文件"))
    elif document.pdf_error:
        messages.error(request, _("PDF 生成失败：%(error)s") % {"error": document.pdf_error})
    else:
        messages.error(request, _("该文书尚未签发，没有可转换的文件。"))
    return back_to_document(document)
