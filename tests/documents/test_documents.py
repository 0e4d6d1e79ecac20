"""Documents (issue 5): drafted on submit and re-inspection, reviewed, numbered without gaps,
signed off into DOCX in object storage, frozen, corrected only by a superseding document."""

import hashlib
import io
import re
import zipfile
from datetime import timedelta

import docx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard
from contractors.hazards.services import do_reinspect_hazard
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_submit_inspection, do_update_inspection
from documents.delivery.services import do_acknowledge_document
from documents.drafting.rendering import render_document
from documents.drafting.services import do_update_document_settings
from documents.models import DocType, Document, DocumentFrozen
from documents.review.services import do_approve_document, do_reject_document
from documents.rules import StorageUnavailable
from documents.selectors import access_document_by_id, documents_visible_to
from portal.models import AuditEvent, Bureau, Role
from portal.storage import evidence_store
from portal.validation import InvalidTransition
from tests.conftest import make_user
from tests.contractors.inspections.test_inspections import add_evidence
from tests.documents.factories import (
    draft_inspection,
    rectify,
    signed_order,
    submitted_inspection,
)

pytestmark = pytest.mark.usefixtures("local_storage")
YEAR = timezone.localdate().year


def text_of(data):
    """Every paragraph and table cell of a DOCX, as one string."""
    document = docx.Document(io.BytesIO(data))
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def stored(key):
    return b"".join(evidence_store().chunks(key))


# --- Drafting -------------------------------------------------------------------------------------


def test_submitting_drafts_the_record_and_the_order_with_major_hazards_named(cast):
    inspection, drafted = submitted_inspection(cast, hazards=3)

    assert set(drafted) == {DocType.INSPECTION_RECORD, DocType.RECTIFICATION_ORDER}
    record, order = drafted[DocType.INSPECTION_RECORD], drafted[DocType.RECTIFICATION_ORDER]
    assert record.status == order.status == Document.Status.PENDING
    assert record.version == order.version == 1
    assert len(record.context["findings"]) == inspection.checklist.items.count()
    assert [h["no"] for h in order.context["hazards"]] == [1, 2, 3]
    assert order.context["major_numbers"] == "1"
    assert {g["numbers"] for g in order.context["deadline_groups"]} == {"1、3", "2"}
    assert order.context["inspectors"][0]["certificate"].startswith("310700")
    assert order.hazards.count() == 3
    assert AuditEvent.objects.filter(action="document.drafted").count() == 2


def test_an_inspection_without_hazards_drafts_only_the_record(cast):
    _inspection, drafted = submitted_inspection(cast, hazards=0)

    assert list(drafted) == [DocType.INSPECTION_RECORD]


def test_the_firm_sees_no_draft_and_agency_b_sees_nothing(cast):
    _inspection, drafted = submitted_inspection(cast)

    assert not documents_visible_to(cast.firm_user_a).exists()
    assert not documents_visible_to(cast.inspector_b1).exists()
    assert documents_visible_to(cast.manager_a).count() == 2
    with pytest.raises(Exception) as missing:
        access_document_by_id(cast.firm_user_b, drafted[DocType.INSPECTION_RECORD].pk)
    assert missing.type.__name__ == "Http404"


# --- Approval and numbering -----------------------------------------------------------------------


def test_approval_numbers_stores_and_freezes_the_document(cast):
    inspection, drafted = submitted_inspection(cast)

    record = do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    order = do_approve_document(actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER])

    assert record.number == f"（普）应急检记〔{YEAR}〕1号"
    assert order.number == f"（普）应急责改〔{YEAR}〕1号"
    assert order.status == Document.Status.APPROVED and order.approved_by == cast.reviewer
    data = stored(order.docx_key)
    assert hashlib.sha256(data).hexdigest() == order.sha256_docx
    text = text_of(data)
    assert cast.firm_a.name in text and order.number in text
    assert '仓库消防通道被货物堵塞 <A&B> "急"' in text
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.ACCEPTED


def test_numbers_follow_each_other_per_type_and_year(cast):
    numbers = []
    for _ in range(3):
        order = signed_order(cast, hazards=1)
        numbers.append(order.number)

    assert numbers == [f"（普）应急责改〔{YEAR}〕{n}号" for n in (1, 2, 3)]


def test_the_bureau_sets_its_own_number_format(cast):
    do_update_document_settings(
        actor=cast.admin,
        bureau=cast.bureau,
        rectification_order_format="沪普应急责改〔{year}〕第{sequence}号",
        court="上海市普陀区人民法院",
    )

    order = signed_order(cast)

    assert order.number == f"沪普应急责改〔{YEAR}〕第1号"
    assert "上海市普陀区人民法院" in text_of(stored(order.docx_key))


def test_a_number_format_without_the_sequence_is_refused(cast):
    with pytest.raises(ValidationError) as refused:
        do_update_document_settings(
            actor=cast.admin, bureau=cast.bureau, inspection_record_format="{bureau}{year}{foo}"
        )

    assert "inspection_record_format" in refused.value.message_dict


def test_a_failed_store_takes_no_number(cast, monkeypatch):
    _inspection, drafted = submitted_inspection(cast)
    record = drafted[DocType.INSPECTION_RECORD]
    store_class = type(evidence_store())

    def broken_put(self, key, data, content_type):
        raise OSError("disk full")

    with monkeypatch.context() as patched:
        patched.setattr(store_class, "put", broken_put)
        with pytest.raises(StorageUnavailable):
            do_approve_document(actor=cast.reviewer, document=record)

    record.refresh_from_db()
    assert record.status == Document.Status.PENDING and record.number == ""
    approved = do_approve_document(actor=cast.reviewer, document=record)
    assert approved.sequence == 1


def test_only_a_pending_document_can_be_approved_or_rejected(cast):
    order = signed_order(cast)

    with pytest.raises(InvalidTransition):
        do_approve_document(actor=cast.reviewer, document=order)
    with pytest.raises(InvalidTransition):
        do_reject_document(actor=cast.reviewer, document=order, reason="再看看")


@pytest.mark.parametrize("who", ["admin", "manager_a", "inspector_a1", "firm_user_a"])
def test_only_the_bureau_reviewer_signs_off(cast, who):
    _inspection, drafted = submitted_inspection(cast)

    with pytest.raises(PermissionDenied):
        do_approve_document(actor=getattr(cast, who), document=drafted[DocType.INSPECTION_RECORD])


def test_a_reviewer_of_another_bureau_cannot_sign(cast):
    other = Bureau.objects.create(
        name="上海市静安区应急管理局", short_name="静", region_code="310106"
    )
    stranger = make_user("jingan-reviewer", role=Role.BUREAU_REVIEWER, bureau=other)
    _inspection, drafted = submitted_inspection(cast)

    with pytest.raises(PermissionDenied):
        do_approve_document(actor=stranger, document=drafted[DocType.INSPECTION_RECORD])


# --- Frozen ---------------------------------------------------------------------------------------


def test_every_write_path_to_a_signed_document_fails(cast):
    order = signed_order(cast)
    unchanged = (order.number, order.sha256_docx, order.context)

    order.number = "（普）应急责改〔2021〕99号"
    with pytest.raises(DocumentFrozen):
        order.save()
    with pytest.raises(DocumentFrozen):
        Document.objects.filter(pk=order.pk).update(context={})
    with pytest.raises(DocumentFrozen):
        Document.objects.filter(pk=order.pk).update(status=Document.Status.PENDING)
    with pytest.raises(DocumentFrozen):
        Document.objects.get(pk=order.pk).delete()
    with pytest.raises(DocumentFrozen):
        Document.objects.filter(pk=order.pk).delete()

    order.refresh_from_db()
    assert (order.number, order.sha256_docx, order.context) == unchanged


def test_the_admin_site_cannot_change_or_delete_a_signed_document(cast, client_for):
    order = signed_order(cast)
    cast.admin.is_staff = cast.admin.is_superuser = True
    cast.admin.save()
    client = client_for(cast.admin)

    change = client.post(f"/admin/documents/document/{order.pk}/change/", {"number": "x"})
    delete = client.post(f"/admin/documents/document/{order.pk}/delete/", {"post": "yes"})

    assert Document.objects.get(pk=order.pk).number == order.number
    assert change.status_code in (403, 302) and delete.status_code == 403


def test_acknowledgement_is_recorded_once(cast):
    order = signed_order(cast)

    first = do_acknowledge_document(actor=cast.firm_user_a, document=order).acknowledged_at
    again = do_acknowledge_document(actor=cast.firm_user_a, document=order).acknowledged_at

    assert first is not None and again == first
    assert AuditEvent.objects.filter(action="document.acknowledged").count() == 1
    with pytest.raises(PermissionDenied):
        do_acknowledge_document(actor=cast.firm_user_b, document=order)


# --- Return, resubmit, correction -----------------------------------------------------------------


def test_returning_sends_the_inspection_back_and_resubmitting_drafts_version_2(cast):
    inspection, drafted = submitted_inspection(cast)

    do_reject_document(
        actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER], reason="期限写错"
    )

    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.RETURNED
    assert inspection.return_reason == "期限写错"
    assert set(Document.objects.values_list("status", flat=True)) == {Document.Status.REJECTED}
    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    assert sorted(d.version for d in resubmitted.drafted_documents) == [2, 2]
    assert Document.objects.filter(inspection=inspection).count() == 4


def test_a_reason_is_required_to_return(cast):
    _inspection, drafted = submitted_inspection(cast)

    with pytest.raises(ValidationError) as refused:
        do_reject_document(
            actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD], reason="  "
        )

    assert "reason" in refused.value.message_dict


def test_a_correction_supersedes_the_signed_document_which_stays_readable(cast):
    inspection, drafted = submitted_inspection(cast)
    record = do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    do_reject_document(
        actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER], reason="地点有误"
    )
    do_update_inspection(actor=cast.inspector_a1, inspection=inspection, place="二号仓库")

    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    correction = next(
        d for d in resubmitted.drafted_documents if d.doc_type == DocType.INSPECTION_RECORD
    )
    assert correction.supersedes == record
    do_approve_document(actor=cast.reviewer, document=correction)

    record.refresh_from_db()
    assert record.status == Document.Status.SUPERSEDED
    assert record.superseded_by == correction
    assert stored(record.docx_key)
    assert access_document_by_id(cast.firm_user_a, record.pk) == record


def test_an_unchanged_signed_document_is_not_drafted_again(cast):
    inspection, drafted = submitted_inspection(cast)
    do_approve_document(actor=cast.reviewer, document=drafted[DocType.INSPECTION_RECORD])
    do_reject_document(
        actor=cast.reviewer, document=drafted[DocType.RECTIFICATION_ORDER], reason="补充照片"
    )

    resubmitted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)

    assert [d.doc_type for d in resubmitted.drafted_documents] == [DocType.RECTIFICATION_ORDER]


# --- Re-inspection opinion ------------------------------------------------------------------------


def test_a_reinspection_drafts_the_opinion_that_cites_the_signed_order(cast):
    order = signed_order(cast)
    first, second = order.hazards.order_by("created_at")
    rectify(cast, first)
    rectify(cast, second)

    passed = do_reinspect_hazard(
        actor=cast.inspector_a1, hazard=first, passed=True, note="已清理", evidence=[]
    )
    failed = do_reinspect_hazard(
        actor=cast.inspector_a1,
        hazard=second,
        passed=False,
        note="尚未张贴",
        evidence=[],
        deadline=timezone.localdate() + timedelta(days=10),
    )

    opinion = failed.drafted_opinion
    assert opinion == passed.drafted_opinion
    assert opinion.order == order and opinion.status == Document.Status.PENDING
    assert [e["no"] for e in opinion.context["rectified"]] == [1]
    assert [e["no"] for e in opinion.context["not_rectified"]] == [2]
    signed = do_approve_document(actor=cast.reviewer, document=opinion)
    assert signed.number == f"（普）应急复查〔{YEAR}〕1号"
    assert signed.context["order"]["number"] == order.number
    text = text_of(stored(signed.docx_key))
    assert order.number in text and "尚未张贴" in text


def test_the_opinion_waits_for_the_order_to_be_signed(cast):
    inspection, drafted = submitted_inspection(cast, hazards=1)
    hazard = inspection.hazards.get()
    rectify(cast, hazard)
    opinion = do_reinspect_hazard(
        actor=cast.inspector_a1, hazard=hazard, passed=True, note="", evidence=[]
    ).drafted_opinion

    with pytest.raises(InvalidTransition):
        do_approve_document(actor=cast.reviewer, document=opinion)


def test_a_returned_opinion_puts_its_hazards_back_for_reinspection(cast):
    order = signed_order(cast, hazards=1)
    hazard = order.hazards.get()
    rectify(cast, hazard)
    opinion = do_reinspect_hazard(
        actor=cast.inspector_a1, hazard=hazard, passed=True, note="", evidence=[]
    ).drafted_opinion

    do_reject_document(actor=cast.reviewer, document=opinion, reason="照片看不清")

    hazard.refresh_from_db()
    assert hazard.status == Hazard.Status.RECTIFIED and hazard.verified_at is None


def test_the_firm_sees_its_signed_documents_only(cast):
    order = signed_order(cast)
    record = order.inspection.documents.get(doc_type=DocType.INSPECTION_RECORD)
    submitted_inspection(cast)

    assert Document.objects.filter(status=Document.Status.PENDING).count() == 2
    assert set(documents_visible_to(cast.firm_user_a)) == {record, order}
    assert not documents_visible_to(cast.firm_user_b).exists()


def test_numbers_are_unique_in_the_database(cast):
    order = signed_order(cast)

    assert re.fullmatch(r"（普）应急责改〔\d{4}〕1号", order.number)
    assert Document.objects.filter(number=order.number).count() == 1


def test_a_re_render_of_a_signed_document_gives_the_same_text(cast):
    order = signed_order(cast)

    assert text_of(render_document(order)) == text_of(stored(order.docx_key))


def test_the_signed_record_carries_the_photos_of_its_hazards(cast):
    inspection = draft_inspection(cast, hazards=1)
    hazard = inspection.hazards.get()
    thumbnail = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(thumbnail, "JPEG")
    evidence = add_evidence(
        inspection, hazard=hazard, purpose=Evidence.Purpose.FINDING, uploader=cast.inspector_a1
    )
    evidence.thumbnail_key = evidence.key.replace(".jpg", ".thumb.jpg")
    evidence.save()
    evidence_store().put(evidence.thumbnail_key, thumbnail.getvalue(), "image/jpeg")
    drafted = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    record = next(d for d in drafted.drafted_documents if d.doc_type == DocType.INSPECTION_RECORD)

    signed = do_approve_document(actor=cast.reviewer, document=record)

    assert record.context["hazards"][0]["photos"][0]["key"] == evidence.thumbnail_key
    with zipfile.ZipFile(io.BytesIO(stored(signed.docx_key))) as package:
        assert any(name.startswith("word/media/") for name in package.namelist())
