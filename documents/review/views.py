"""The review pages: the reviewer's queue, the document list and page, approve and reject."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from contractors.evidence.models import Evidence
from contractors.evidence.selectors import evidence_visible_to
from contractors.inspections.models import ChecklistAnswer
from contractors.inspections.selectors import checklist_with_answers
from contractors.register.selectors import streets_of
from contractors.tenancy.selectors import agencies_of
from documents import selectors
from documents.drafting.preview import docx_to_html
from documents.drafting.rendering import render_document
from documents.models import Document
from documents.page_support import back_to_document, refusal_text
from documents.pdf.conversion import pdf_available
from documents.review.forms import DocumentFilterForm, RejectForm, ReviewQueueForm
from documents.review.services import do_approve_document, do_reject_document
from documents.rules import STORAGE_ERRORS, StorageUnavailable
from documents.selectors import (
    access_document_by_id,
    document_versions,
    documents_visible_to,
    filter_documents,
)
from portal.access import membership_of, require_role
from portal.models import BUREAU_ROLES, Role
from portal.page_support import add_service_errors
from portal.validation import InvalidTransition

DOCUMENTS_PER_PAGE = 50


def _page(request, queryset):
    return Paginator(queryset, DOCUMENTS_PER_PAGE).get_page(request.GET.get("page"))


@login_required
def review_queue(request):
    require_role(request.user, *BUREAU_ROLES)
    form = ReviewQueueForm(
        request.GET or None, agencies=agencies_of(request.user), streets=streets_of(request.user)
    )
    arguments = form.queue_arguments() if form.is_valid() else {}
    page = _page(request, selectors.review_queue(request.user, **arguments))
    return render(
        request,
        "documents/review_queue.html",
        {"form": form, "page": page, "now": timezone.now()},
    )


@login_required
def document_list(request):
    membership = membership_of(request.user)
    if membership is None:
        raise PermissionDenied
    documents = documents_visible_to(request.user).order_by("-created_at", "pk")
    form = None
    if membership.role != Role.FIRM_USER:
        form = DocumentFilterForm(
            request.GET or None,
            streets=streets_of(request.user),
            agencies=agencies_of(request.user) if membership.is_bureau_staff else None,
        )
        if form.is_valid():
            documents = filter_documents(documents, **form.filters())
    return render(
        request,
        "documents/list.html",
        {"form": form, "page": _page(request, documents)},
    )


@require_GET
@login_required
def document_detail(request, document_id):
    document = access_document_by_id(request.user, document_id)
    return _render_detail(request, document)


def _render_detail(request, document, *, reject_form=None):
    membership = membership_of(request.user)
    can_review = (
        membership.role == Role.BUREAU_REVIEWER and document.status == Document.Status.PENDING
    )
    preview, preview_failed = None, False
    try:
        preview = docx_to_html(render_document(document))
    except STORAGE_ERRORS:
        preview_failed = True
    items = list(checklist_with_answers(document.inspection))
    hazards = list(document.hazards.order_by("created_at", "pk"))
    evidence = list(
        evidence_visible_to(request.user)
        .filter(status=Evidence.Status.CONFIRMED)
        .filter(Q(hazard__in=hazards) | Q(inspection=document.inspection_id, hazard=None))
        .order_by("created_at")
    )
    for hazard in hazards:
        hazard.photos = [item for item in evidence if item.hazard_id == hazard.pk]
    return render(
        request,
        "documents/detail.html",
        {
            "document": document,
            "inspection": document.inspection,
            "preview": preview,
            "preview_failed": preview_failed,
            "hazard_answers": [
                item for item in items if item.answer == ChecklistAnswer.Answer.HAZARD
            ],
            "answer_counts": [
                (label, sum(item.answer == value for item in items))
                for value, label in ChecklistAnswer.Answer.choices
            ],
            "hazards": hazards,
            "general_evidence": [item for item in evidence if item.hazard_id is None],
            "versions": document_versions(document).filter(
                pk__in=documents_visible_to(request.user).values("pk")
            ),
            "correction": _correction_of(document),
            "is_staff": membership.is_bureau_staff or membership.is_agency_staff,
            "is_firm_user": membership.role == Role.FIRM_USER,
            "can_review": can_review,
            "can_retry_pdf": membership.role == Role.BUREAU_REVIEWER,
            "reject_form": (reject_form or RejectForm()) if can_review else None,
            "pdf_available": pdf_available(),
        },
    )


def _correction_of(document):
    if document.status != Document.Status.SUPERSEDED:
        return None
    try:
        return document.superseded_by
    except Document.DoesNotExist:
        return None


@require_POST
@login_required
def document_approve(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    try:
        document = do_approve_document(actor=request.user, document=document)
    except (InvalidTransition, StorageUnavailable) as refusal:
        messages.error(request, refusal_text(refusal))
    else:
        messages.success(request, _("文书已签发，文号：%(number)s") % {"number": document.number})
    return back_to_document(document)


@require_POST
@login_required
def document_reject(request, document_id):
    document = access_document_by_id(request.user, document_id)
    require_role(request.user, Role.BUREAU_REVIEWER)
    form = RejectForm(request.POST)
    if form.is_valid():
        try:
            do_reject_document(
                actor=request.user, document=document, reason=form.cleaned_data["reason"]
            )
        except InvalidTransition as refusal:
            messages.error(request, refusal_text(refusal))
            return back_to_document(document)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("文书已退回，检查已退回服务机构修改。"))
            return back_to_document(document)
    return _render_detail(request, document, reject_form=form)
