"""Reads of documents, always scoped to who is asking."""

from django.core.exceptions import ValidationError
from django.http import Http404

from documents.models import FROZEN_STATUSES, Document, DocumentTemplate
from portal.access import membership_of


def _documents_of(membership):
    if membership is None:
        return Document.objects.none()
    documents = Document.objects.filter(bureau_id=membership.bureau_id)
    if membership.is_bureau_staff:
        return documents
    if membership.is_agency_staff:
        return documents.filter(agency_id=membership.agency_id)
    # A firm sees what was signed for it, including a signed document since corrected.
    return documents.filter(firm_id=membership.firm_id, status__in=FROZEN_STATUSES)


def documents_visible_to(user):
    """The documents `user` may see: the bureau's all for its staff, the agency's own drafts and
    signed documents for agency staff, and a firm's signed ones for its users."""
    return _documents_of(membership_of(user)).select_related(
        "firm", "agency", "inspection", "approved_by", "acknowledged_by", "order"
    )


def documents_of_inspection(*, user, inspection):
    """The documents of `inspection` that `user` may see, by type and newest version first (the
    inspection's page, through `contractors.hooks.inspection_documents`). The page shows the
    documents' own fields only: none of the related rows `documents_visible_to` joins."""
    return list(
        _documents_of(membership_of(user))
        .filter(inspection=inspection)
        .order_by("doc_type", "-version")
    )


def access_document_by_id(user, document_id):
    """The document, if `user` may see it; 404 alike for missing and not visible."""
    try:
        return documents_visible_to(user).get(pk=document_id)
    except (Document.DoesNotExist, ValidationError):
        raise Http404 from None


def filter_documents(
    documents,
    *,
    status=None,
    doc_type=None,
    firm=None,
    agency=None,
    street=None,
    date_from=None,
    date_to=None,
):
    """Documents by state, type, firm, agency, street and signing date (the bureau's days)."""
    if date_from:
        documents = documents.filter(approved_at__date__gte=date_from)
    if date_to:
        documents = documents.filter(approved_at__date__lte=date_to)
    if status:
        documents = documents.filter(status=status)
    if doc_type:
        documents = documents.filter(doc_type=doc_type)
    if firm:
        documents = documents.filter(firm_id=firm)
    if agency:
        documents = documents.filter(agency_id=agency)
    if street:
        documents = documents.filter(firm__street_id=street)
    return documents


def review_queue(user, *, doc_type=None, agency=None, street=None):
    """Pending documents for the bureau's review, oldest first."""
    documents = documents_visible_to(user).select_related("firm__street")
    membership = membership_of(user)
    if membership is None or not membership.is_bureau_staff:
        return documents.none()
    return filter_documents(
        documents,
        status=Document.Status.PENDING,
        doc_type=doc_type,
        agency=agency,
        street=street,
    ).order_by("created_at", "pk")


def document_versions(document):
    """Every version of the document's series (same inspection and type), newest first."""
    return Document.objects.filter(
        inspection_id=document.inspection_id, doc_type=document.doc_type
    ).order_by("-version")


def templates_of(user):
    membership = membership_of(user)
    if membership is None or not membership.is_bureau_staff:
        return DocumentTemplate.objects.none()
    return DocumentTemplate.objects.filter(bureau_id=membership.bureau_id).defer("content")


def access_template_by_id(user, template_id):
    """A template version of the user's bureau, with its bytes; 404 for anyone else."""
    try:
        return templates_of(user).defer(None).get(pk=template_id)
    except (DocumentTemplate.DoesNotExist, ValidationError):
        raise Http404 from None
