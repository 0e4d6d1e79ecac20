"""Shared by the document rooms: storage errors, content types, hashing, the bureau-role
check and the lock on a document."""

import hashlib

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import PermissionDenied

from documents.models import (
    Document,
)
from portal.access import membership_of

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


PDF_TYPE = "application/pdf"


STORAGE_ERRORS = (BotoCoreError, ClientError, OSError)


class StorageUnavailable(Exception):
    """Object storage refused or failed a write; nothing was committed (the API answers 503)."""


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def require_bureau_role(actor, bureau, role):
    membership = membership_of(actor)
    if membership is None or membership.role != role or membership.bureau_id != bureau.pk:
        raise PermissionDenied
    return membership


def locked_document(document):
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("bureau", "inspection", "order")
        .get(pk=document.pk)
    )
