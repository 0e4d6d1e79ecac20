"""The documents API: who sees and does what with the drafted documents, the reviewer's
sign-off and return, the signed files, the firm's receipt, and the document ids the submit and
re-inspect endpoints hand back."""

import re

import pytest
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.inspections.models import Inspection
from contractors.inspections.services import (
    do_answer_item,
    do_start_inspection,
    do_submit_inspection,
    do_update_inspection,
)
from documents.models import DocType, Document, DocumentFrozen
from documents.pdf.conversion import pdf_available
from documents.pdf.services import do_convert_document_pdf
from documents.review import api as review_api
from documents.review.services import do_approve_document, do_reject_document
from portal.models import AuditEvent
from portal.storage import LocalStore
from tests.conftest import assign
from tests.contractors.hazards.test_api_hazards import add_evidence
from tests.documents.factories import draft_inspection, signed_order, submitted_inspection

DOCUMENTS_URL = "/api/v1/documents/"
OTHER_TENANTS = ["outsider", "manager_b", "inspector_b1", "firm_user_b"]
ENDPOINTS = [
    ("get", ""),
    ("post", "approve"),
    ("post", "reject"),
    ("get", "download"),
    ("post", "acknowledge"),
]


def document_url(document, action=""):
    return f"{DOCUMENTS_URL}{document.pk}/{action + '/' if action else ''}"


def call(api, method, document, action):
    if method == "get":
        return api.get(document_url(document, action))
    return api.post(document_url(document, action), {"reason": "补充照片"}, format="json")


def listed(api, **params):
    response = api.get(DOCUMENTS_URL, params)
    assert response.status_code == 200, response.content
    return {entry["id"] for entry in response.json()["results"]}


def number(prefix, sequence):
    return f"（普）{prefix}〔{timezone.localdate().year}〕{sequence}号"


@pytest.fixture(autouse=True)
def storage(local_storage):
    """Signed files go to a fresh local folder."""
    return local_storage


@pytest.fixture
def pending(cast):
    """A submitted inspection of firm A by agency A and its two drafts, by type."""
    return submitted_inspection(cast)


@pytest.fixture
def record(pending):
    return pending[1][DocType.INSPECTION_RECORD]


@pytest.fixture
def order(pending):
    return pending[1][DocType.RECTIFICATION_ORDER]


@pytest.fixture
def signed(cast):
    """Firm A's rectification order, signed with its inspection record."""
    return signed_order(cast)


def agency_b_record(cast):
    """The inspection record of an inspection of firm B by agency B, without hazards."""
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    inspection = do_start_inspection(
        actor=cast.inspector_b1,
        firm=cast.firm_b,
        kind=Inspection.Kind.ROUTINE,
        inspected_on=timezone.localdate(),
        inspectors=[cast.inspector_b1, cast.inspector_b2],
        firm_representative="赵仓管",
    )
    for item in inspection.checklist.items.all():
        do_answer_item(actor=cast.inspector_b1, inspection=inspection, item=item, answer="pass")
    (document,) = do_submit_inspection(
        actor=cast.inspector_b1, inspection=inspection
    ).drafted_documents
    return document


# --- Who sees what -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "action"), [("get", None), *ENDPOINTS])
def test_anonymous_callers_must_log_in(cast, record, api_for, method, action):
    api = api_for(None)
    if action is None:
        response = api.get(DOCUMENTS_URL)
    else:
        response = call(api, method, record, action)

    assert response.status_code == 401


@pytest.mark.parametrize("who", OTHER_TENANTS)
@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_other_tenants_find_no_document_of_agency_a(cast, signed, api_for, who, method, action):
    pending_record = submitted_inspection(cast)[1][DocType.INSPECTION_RECORD]
    api = api_for(getattr(cast, who))

    for document in (signed, pending_record):
        assert call(api, method, document, action).status_code == 404

    assert listed(api) == set()
    signed.refresh_from_db()
    assert signed.acknowledged_at is None
    pending_record.refresh_from_db()
    assert pending_record.status == Document.Status.PENDING


@pytest.mark.parametrize(("method", "action"), ENDPOINTS)
def test_the_firm_sees_no_draft(cast, record, api_for, method, action):
    api = api_for(cast.firm_user_a)

    assert call(api, method, record, action).status_code == 404
    assert listed(api) == set()
    record.refresh_from_db()
    assert record.status == Document.Status.PENDING


def test_each_sees_the_documents_of_its_own_organisation(cast, pending, signed, api_for):
    _inspection, drafted = pending
    other = agency_b_record(cast)
    drafts = {str(document.pk) for document in drafted.values()}
    signed_ids = {str(document.pk) for document in signed.inspection.documents.all()}
    agency_a = drafts | signed_ids

    assert listed(api_for(cast.reviewer)) == agency_a | {str(other.pk)}
    assert listed(api_for(cast.admin)) == agency_a | {str(other.pk)}
    assert listed(api_for(cast.manager_a)) == agency_a
    assert listed(api_for(cast.inspector_a2)) == agency_a
    assert listed(api_for(cast.manager_b)) == {str(other.pk)}
    assert listed(api_for(cast.firm_user_a)) == signed_ids
    assert listed(api_for(cast.firm_user_b)) == set()


def test_the_list_filters_by_status_type_firm_and_inspection(cast, pending, signed, api_for):
    inspection, drafted = pending
    other = agency_b_record(cast)
    api = api_for(cast.reviewer)

    assert listed(api, status="approved", doc_type="rectification_order") == {str(signed.pk)}
    assert listed(api, firm=str(cast.firm_b.pk)) == {str(other.pk)}
    assert listed(api, inspection=str(inspection.pk)) == {str(d.pk) for d in drafted.values()}
    assert listed(api, agency=str(cast.agency_b.pk), status="pending") == {str(other.pk)}


def test_bad_filters_are_refused_field_by_field(cast, api_for):
    response = api_for(cast.reviewer).get(
        DOCUMENTS_URL, {"status": "signed", "doc_type": "letter", "firm": "firm-a"}
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "doc_type", "firm"}


def test_the_list_costs_the_same_few_queries_however_long(
    cast, signed, api_for, django_assert_max_num_queries
):
    for _ in range(2):
        submitted_inspection(cast)
    api = api_for(cast.reviewer)

    with django_assert_max_num_queries(3):
        response = api.get(DOCUMENTS_URL)

    assert response.json()["count"] == 6
    names = {entry["firm_name"] for entry in response.json()["results"]}
    assert names == {"甲化工有限公司"}


def test_the_detail_carries_the_contract_fields(cast, order, api_for):
    response = api_for(cast.inspector_a1).get(document_url(order))

    assert response.status_code == 200
    body = response.json()
    assert {
        "id",
        "doc_type",
        "status",
        "number",
        "firm",
        "inspection",
        "version",
        "sha256_docx",
        "sha256_pdf",
        "approved_by",
        "approved_at",
        "acknowledged_at",
    } <= set(body)
    assert body["doc_type"] == "rectification_order"
    assert body["status"] == "pending"
    assert body["number"] == ""
    assert body["firm"] == str(cast.firm_a.pk)
    assert body["firm_name"] == "甲化工有限公司"
    assert body["agency"] == str(cast.agency_a.pk)
    assert body["inspection"] == str(order.inspection_id)
    assert body["version"] == 1
    assert body["approved_by"] is None
    assert body["pdf_available"] is False


def test_the_firm_is_not_shown_why_a_pdf_failed(cast, signed, api_for):
    Document.objects.filter(pk=signed.pk).update(pdf_attempts=1, pdf_error="LibreOffice exited")

    assert api_for(cast.reviewer).get(document_url(signed)).json()["pdf_error"] == (
        "LibreOffice exited"
    )
    assert "pdf_error" not in api_for(cast.firm_user_a).get(document_url(signed)).json()


# --- Review --------------------------------------------------------------------------------------


def test_the_reviewer_signs_off_with_the_next_number(cast, record, order, api_for):
    api = api_for(cast.reviewer)

    response = api.post(document_url(order, "approve"))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "approved"
    assert body["number"] == number("应急责改", 1)
    assert body["approved_by"] == str(cast.reviewer.pk)
    assert body["approved_by_name"] == "李审核"
    assert body["approved_at"]
    assert re.fullmatch(r"[0-9a-f]{64}", body["sha256_docx"])
    # Each type has its own series.
    recorded = api.post(document_url(record, "approve")).json()
    assert recorded["number"] == number("应急检记", 1)
    order.inspection.refresh_from_db()
    assert order.inspection.status == Inspection.Status.ACCEPTED


def test_approving_twice_is_a_conflict_and_takes_no_number(cast, order, api_for):
    api = api_for(cast.reviewer)
    first = api.post(document_url(order, "approve")).json()

    again = api.post(document_url(order, "approve"))

    assert again.status_code == 409
    assert again.json()["detail"]
    order.refresh_from_db()
    assert order.number == first["number"] == number("应急责改", 1)
    second = submitted_inspection(cast)[1][DocType.RECTIFICATION_ORDER]
    assert api.post(document_url(second, "approve")).json()["number"] == number("应急责改", 2)


@pytest.mark.parametrize("who", ["admin", "manager_a", "inspector_a1"])
@pytest.mark.parametrize("action", ["approve", "reject"])
def test_only_the_reviewer_reviews(cast, order, api_for, who, action):
    response = api_for(getattr(cast, who)).post(
        document_url(order, action), {"reason": "补充照片"}, format="json"
    )

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == Document.Status.PENDING
    assert order.number == ""


def test_a_storage_failure_answers_503_and_takes_no_number(cast, order, api_for, monkeypatch):
    def refuse(self, key, data, content_type):
        raise OSError("disk full")

    monkeypatch.setattr(LocalStore, "put", refuse)
    api = api_for(cast.reviewer)

    response = api.post(document_url(order, "approve"))

    assert response.status_code == 503
    assert set(response.json()) == {"detail"}
    order.refresh_from_db()
    assert (order.status, order.number) == (Document.Status.PENDING, "")
    monkeypatch.undo()
    assert api.post(document_url(order, "approve")).json()["number"] == number("应急责改", 1)


def test_a_refused_change_of_a_signed_document_is_a_conflict(cast, order, api_for, monkeypatch):
    def frozen(**kwargs):
        raise DocumentFrozen("signed-off document: number cannot change")

    monkeypatch.setattr(review_api, "do_approve_document", frozen)

    response = api_for(cast.reviewer).post(document_url(order, "approve"))

    assert response.status_code == 409
    assert response.json()["detail"]


def test_a_return_needs_a_reason(cast, order, api_for):
    api = api_for(cast.reviewer)

    for body in ({}, {"reason": ""}):
        response = api.post(document_url(order, "reject"), body, format="json")
        assert response.status_code == 400
        assert "reason" in response.json()["errors"]
    order.refresh_from_db()
    assert order.status == Document.Status.PENDING


def test_a_return_sends_the_inspection_back_with_the_reason(cast, pending, api_for):
    inspection, drafted = pending
    api = api_for(cast.reviewer)

    response = api.post(
        document_url(drafted[DocType.RECTIFICATION_ORDER], "reject"),
        {"reason": "整改期限写错"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"
    assert response.json()["review_reason"] == "整改期限写错"
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.RETURNED
    assert inspection.return_reason == "整改期限写错"
    # The record goes back with it, and a returned draft cannot be signed.
    record = drafted[DocType.INSPECTION_RECORD]
    assert api.get(document_url(record)).json()["status"] == "rejected"
    assert api.post(document_url(record, "approve")).status_code == 409
    assert api.post(document_url(record, "reject"), {"reason": "再退"}).status_code == 409


def test_the_resubmission_drafts_version_2(cast, pending, api_for):
    inspection, drafted = pending
    reviewer = api_for(cast.reviewer)
    reviewer.post(
        document_url(drafted[DocType.INSPECTION_RECORD], "reject"),
        {"reason": "地点有误"},
        format="json",
    )
    do_update_inspection(actor=cast.inspector_a1, inspection=inspection, place="二号仓库")

    submitted = api_for(cast.inspector_a1).post(f"/api/v1/inspections/{inspection.pk}/submit/")

    assert submitted.status_code == 200, submitted.content
    redrafted = submitted.json()["documents"]
    assert len(redrafted) == 2
    response = reviewer.get(DOCUMENTS_URL, {"inspection": str(inspection.pk)})
    versions = {(e["doc_type"], e["version"], e["status"]) for e in response.json()["results"]}
    assert versions == {
        ("inspection_record", 1, "rejected"),
        ("rectification_order", 1, "rejected"),
        ("inspection_record", 2, "pending"),
        ("rectification_order", 2, "pending"),
    }
    assert listed(reviewer, inspection=str(inspection.pk), status="pending") == set(redrafted)


def test_a_signed_correction_shows_what_it_supersedes(cast, pending, api_for):
    inspection, drafted = pending
    record = do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    do_reject_document(
        actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER], reason="地点有误"
    )
    do_update_inspection(actor=cast.inspector_a1, inspection=inspection, place="二号仓库")
    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    correction = next(
        d for d in resubmitted.drafted_documents if d.doc_type == DocType.INSPECTION_RECORD
    )
    do_approve_document(actor=cast.reviewer, document=correction)
    firm = api_for(cast.firm_user_a)

    old = firm.get(document_url(record)).json()
    new = firm.get(document_url(correction)).json()

    assert (old["status"], old["superseded_by"]) == ("superseded", str(correction.pk))
    assert (new["status"], new["supersedes"], new["superseded_by"]) == (
        "approved",
        str(record.pk),
        None,
    )
    # Only the document in force is acknowledged.
    refused = firm.post(document_url(record, "acknowledge"))
    assert refused.status_code == 409
    assert refused.json()["detail"]


# --- Delivery ------------------------------------------------------------------------------------


def test_the_firm_acknowledges_receipt_once(cast, signed, api_for):
    api = api_for(cast.firm_user_a)

    first = api.post(document_url(signed, "acknowledge"))
    again = api.post(document_url(signed, "acknowledge"))

    assert first.status_code == 200, first.content
    assert first.json()["acknowledged_at"]
    assert first.json()["acknowledged_by"] == str(cast.firm_user_a.pk)
    assert again.status_code == 200
    assert again.json()["acknowledged_at"] == first.json()["acknowledged_at"]
    assert AuditEvent.objects.filter(action="document.acknowledged").count() == 1


@pytest.mark.parametrize("who", ["reviewer", "admin", "manager_a", "inspector_a1"])
def test_only_the_firm_acknowledges(cast, signed, api_for, who):
    response = api_for(getattr(cast, who)).post(document_url(signed, "acknowledge"))

    assert response.status_code == 403
    signed.refresh_from_db()
    assert signed.acknowledged_at is None


@pytest.mark.parametrize("who", ["firm_user_a", "reviewer", "inspector_a2"])
def test_a_signed_document_is_downloaded_through_a_short_lived_link(cast, signed, api_for, who):
    api = api_for(getattr(cast, who))

    response = api.get(document_url(signed, "download"), {"format": "docx"})

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="document.downloaded")
    assert event.actor == getattr(cast, who)
    assert event.target_id == str(signed.pk)
    assert event.detail == {"format": "docx"}
    file = api.get(response["Location"])
    assert file.status_code == 200
    assert b"".join(file.streaming_content).startswith(b"PK")


def test_docx_is_the_default_format(cast, signed, api_for):
    response = api_for(cast.reviewer).get(document_url(signed, "download"))

    assert response.status_code == 302
    assert AuditEvent.objects.get(action="document.downloaded").detail == {"format": "docx"}


def test_a_file_that_does_not_exist_yet_is_a_conflict(cast, record, signed, api_for):
    api = api_for(cast.reviewer)

    draft = api.get(document_url(record, "download"), {"format": "docx"})
    no_pdf = api.get(document_url(signed, "download"), {"format": "pdf"})

    assert (draft.status_code, no_pdf.status_code) == (409, 409)
    assert draft.json()["detail"] and no_pdf.json()["detail"]
    assert not AuditEvent.objects.filter(action="document.downloaded").exists()


def test_a_bad_format_is_refused(cast, signed, api_for):
    response = api_for(cast.reviewer).get(document_url(signed, "download"), {"format": "exe"})

    assert response.status_code == 400
    assert "format" in response.json()["errors"]
    assert not AuditEvent.objects.filter(action="document.downloaded").exists()


# --- Submit and re-inspect -----------------------------------------------------------------------


def test_the_submit_response_names_the_drafted_documents(cast, api_for):
    inspection = draft_inspection(cast)

    response = api_for(cast.inspector_a2).post(f"/api/v1/inspections/{inspection.pk}/submit/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "submitted"
    drafted = Document.objects.filter(inspection=inspection)
    assert sorted(body["documents"]) == sorted(str(document.pk) for document in drafted)
    reviewer = api_for(cast.reviewer)
    types = {reviewer.get(f"{DOCUMENTS_URL}{pk}/").json()["doc_type"] for pk in body["documents"]}
    assert types == {"inspection_record", "rectification_order"}


def rectified_hazard(cast, order, api_for):
    """The first hazard of `order`, reported rectified by firm A."""
    hazard = order.hazards.order_by("created_at").first()
    evidence = add_evidence(
        hazard, purpose=Evidence.Purpose.RECTIFICATION, uploader=cast.firm_user_a
    )
    response = api_for(cast.firm_user_a).post(
        f"/api/v1/hazards/{hazard.pk}/rectify/",
        {"note": "通道已清理", "evidence": [str(evidence.pk)]},
        format="json",
    )
    assert response.status_code == 200, response.content
    return hazard


def reinspect(api, hazard):
    response = api.post(
        f"/api/v1/hazards/{hazard.pk}/reinspect/",
        {"passed": True, "note": "通道已清理"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    return response.json()


def test_the_reinspection_response_names_the_drafted_opinion(cast, signed, api_for):
    hazard = rectified_hazard(cast, signed, api_for)

    body = reinspect(api_for(cast.inspector_a1), hazard)

    opinion = Document.objects.get(pk=body["document"])
    assert (opinion.doc_type, opinion.order_id) == (DocType.REINSPECTION_OPINION, signed.pk)
    reviewer = api_for(cast.reviewer)
    assert reviewer.get(document_url(opinion)).json()["rectification_order"] == str(signed.pk)
    approved = reviewer.post(document_url(opinion, "approve")).json()
    assert approved["number"] == number("应急复查", 1)


def test_the_agency_that_took_the_firm_over_owns_the_opinion_it_drafted(cast, signed, api_for):
    hazard = rectified_hazard(cast, signed, api_for)
    assign(cast.contract_b, cast.firm_a)

    body = reinspect(api_for(cast.inspector_b1), hazard)

    # The re-inspection is agency B's work on agency A's order: the opinion is B's to see.
    opinion = Document.objects.get(order=signed, doc_type=DocType.REINSPECTION_OPINION)
    assert body["document"] == str(opinion.pk)
    assert opinion.agency == cast.agency_b
    assert api_for(cast.inspector_b1).get(document_url(opinion)).status_code == 200
    assert api_for(cast.inspector_a1).get(document_url(opinion)).status_code == 404


# --- Schema --------------------------------------------------------------------------------------


def test_the_schema_describes_the_documents_api(db, api_for):
    schema = api_for(None).get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]

    operations = {
        (path, method): operation["operationId"]
        for path, methods in paths.items()
        if path.startswith(DOCUMENTS_URL)
        for method, operation in methods.items()
    }
    assert operations == {
        ("/api/v1/documents/", "get"): "documents_list",
        ("/api/v1/documents/{document_id}/", "get"): "documents_retrieve",
        ("/api/v1/documents/{document_id}/approve/", "post"): "documents_approve",
        ("/api/v1/documents/{document_id}/reject/", "post"): "documents_reject",
        ("/api/v1/documents/{document_id}/download/", "get"): "documents_download",
        ("/api/v1/documents/{document_id}/acknowledge/", "post"): "documents_acknowledge",
    }
    assert {"409", "503"} <= set(
        paths["/api/v1/documents/{document_id}/approve/"]["post"]["responses"]
    )
    download = paths["/api/v1/documents/{document_id}/download/"]["get"]
    assert "302" in download["responses"]
    assert "format" in {parameter["name"] for parameter in download["parameters"]}
    listing = paths["/api/v1/documents/"]["get"]
    assert {"status", "doc_type", "firm", "page_size"} <= {p["name"] for p in listing["parameters"]}
    submit = paths["/api/v1/inspections/{inspection_id}/submit/"]["post"]["responses"]["200"]
    submitted = submit["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "documents" in schema["components"]["schemas"][submitted]["properties"]


@pytest.mark.skipif(not pdf_available(), reason="LibreOffice (soffice) is not installed")
def test_the_pdf_is_downloaded_once_converted(cast, signed, api_for):
    do_convert_document_pdf(document=signed)
    api = api_for(cast.firm_user_a)

    detail = api.get(document_url(signed)).json()
    response = api.get(document_url(signed, "download"), {"format": "pdf"})

    assert detail["pdf_available"] is True
    assert re.fullmatch(r"[0-9a-f]{64}", detail["sha256_pdf"])
    assert response.status_code == 302
    file = api.get(response["Location"])
    assert b"".join(file.streaming_content).startswith(b"%PDF-")
