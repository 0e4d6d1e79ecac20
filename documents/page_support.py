"""What the document pages share: back to the document's page, a refusal as a message."""

from django.shortcuts import redirect
from django.utils.translation import gettext as _

from documents.rules import StorageUnavailable


def back_to_document(document):
    return redirect("documents:document_detail", document_id=document.id)


def refusal_text(refusal):
    if isinstance(refusal, StorageUnavailable):
        return _("文书存储失败，请稍后重试")
    return " ".join(refusal.messages)
