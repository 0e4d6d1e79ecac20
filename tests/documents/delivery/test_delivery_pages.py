"""Delivery: the scoped document lists, downloads of the signed files, the PDF state on the page
and the firm's acknowledgement of receipt (签收)."""

import shutil

import pytest
from django.urls import reverse
from django.utils import timezone

from documents.delivery.services import do_acknowledge_document
from documents.models import DocType, Document
from documents.pdf.services import do_convert_document_pdf
from documents.review.services import do_approve_document
from portal.models import AuditEvent
from tests.documents.factories import signed_order, submitted_inspection

NO_SOFFICE = "no-such-soffice-for-tests"
NOT_INSTALLED = "本服务器未安装 LibreOffice，仅提供 DOCX 文件"


def detail_url(document):
    return reverse("documents:document_detail", kwargs={"document_id": document.id})


def action_url(name, document):
    return reverse(f"documents:{name}", kwargs={"document_id": document.id})


def download_url(document, fmt):
    return reverse("documents:document_download", kwargs={"document_id": document.id, "fmt": fmt})


def list_url(**query):
    url = reverse("documents:document_list")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def order(cast, local_storage, settings):
    """A signed rectification order of firm A, without its PDF yet."""
    settings.SOFFICE_BINARY = NO_SOFFICE
    return signed_order(cast)


# --- Acknowledgement ------------------------------------------------------------------------------


def test_the_firm_acknowledges_once(client_for, cast, order):
    firm = client_for(cast.firm_user_a)
    page = firm.get(detail_url(order)).content.decode()
    assert action_url("document_acknowledge", order) in page

    response = firm.post(action_url("document_acknowledge", order), follow=True)

    order.refresh_from_db()
    assert order.acknowledged_by == cast.firm_user_a
    first = order.acknowledged_at
    assert "已签收。" in messages_of(response)
    body = response.content.decode()
    assert f"已于 {timezone.localtime(first):%Y-%m-%d %H:%M} 签收" in body
    assert action_url("document_acknowledge", order) not in body

    again = firm.post(action_url("document_acknowledge", order), follow=True)

    order.refresh_from_db()
    assert order.acknowledged_at == first
    assert messages_of(again) == []
    assert AuditEvent.objects.filter(action="document.acknowledged").count() == 1


@pytest.mark.parametrize("member", ["reviewer", "manager_a", "inspector_a1"])
def test_only_the_firm_acknowledges(client_for, cast, order, member):
    response = client_for(getattr(cast, member)).post(action_url("document_acknowledge", order))

    assert response.status_code == 403
    order.refresh_from_db()
    assert order.acknowledged_at is None


@pytest.mark.parametrize("member", ["firm_user_b", "manager_b", "outsider"])
def test_other_tenants_get_404_for_a_signed_document(client_for, cast, order, member):
    client = client_for(getattr(cast, member))

    assert client.get(detail_url(order)).status_code == 404
    assert client.post(action_url("document_acknowledge", order)).status_code == 404
    assert client.get(download_url(order, "docx")).status_code == 404


def test_staff_see_who_acknowledged_and_when(client_for, cast, order):
    assert "企业尚未签收" in client_for(cast.manager_a).get(detail_url(order)).content.decode()
    do_acknowledge_document(actor=cast.firm_user_a, document=order)
    order.refresh_from_db()

    for member in (cast.reviewer, cast.manager_a):
        body = client_for(member).get(detail_url(order)).content.decode()
        assert f"firm-a 已于 {timezone.localtime(order.acknowledged_at):%Y-%m-%d %H:%M} 签收" in (
            body
        )


# --- Downloads and the PDF ------------------------------------------------------------------------


def test_a_download_redirects_to_a_short_lived_link_and_is_audited(client_for, cast, order):
    response = client_for(cast.firm_user_a).get(download_url(order, "docx"))

    assert response.status_code == 302
    assert response["Location"].startswith("/files/local/")
    event = AuditEvent.objects.get(action="document.downloaded")
    assert event.actor == cast.firm_user_a and event.detail == {"format": "docx"}
    file = client_for(None).get(response["Location"])
    assert b"".join(file.streaming_content).startswith(b"PK")


def test_without_libreoffice_the_page_offers_docx_only(client_for, cast, order):
    body = client_for(cast.firm_user_a).get(detail_url(order)).content.decode()

    assert NOT_INSTALLED in body
    assert download_url(order, "docx") in body
    assert download_url(order, "pdf") not in body


def test_a_pdf_not_made_yet_is_a_message_not_an_error(client_for, cast, order):
    response = client_for(cast.firm_user_a).get(download_url(order, "pdf"), follow=True)

    assert response.redirect_chain[0][0] == detail_url(order)
    assert "该文书的 PDF 尚未生成。" in messages_of(response)


def test_a_draft_has_no_signed_file_to_download(client_for, cast, local_storage):
    _inspection, drafted = submitted_inspection(cast)
    record = drafted[DocType.INSPECTION_RECORD]

    response = client_for(cast.reviewer).get(download_url(record, "docx"), follow=True)

    assert "该文书尚未签发。" in messages_of(response)
    assert not AuditEvent.objects.filter(action="document.downloaded").exists()


@pytest.fixture
def failed_pdf(order, settings):
    """The order after a PDF conversion that failed: a "soffice" that writes nothing."""
    settings.SOFFICE_BINARY = "true"
    document = do_convert_document_pdf(document=order)
    assert document.pdf_error and not document.pdf_key
    return document


def test_a_failed_pdf_shows_its_error_and_the_reviewer_may_retry(client_for, cast, failed_pdf):
    reviewer_page = client_for(cast.reviewer).get(detail_url(failed_pdf)).content.decode()
    assert "PDF 生成失败（已尝试 1 次）" in reviewer_page
    assert "LibreOffice exited with 0" in reviewer_page
    assert action_url("document_retry_pdf", failed_pdf) in reviewer_page
    for member in (cast.admin, cast.firm_user_a):
        page = client_for(member).get(detail_url(failed_pdf)).content.decode()
        assert "PDF 生成失败" in page
        assert action_url("document_retry_pdf", failed_pdf) not in page

    response = client_for(cast.reviewer).post(
        action_url("document_retry_pdf", failed_pdf), follow=True
    )

    failed_pdf.refresh_from_db()
    assert failed_pdf.pdf_attempts == 2
    assert any(message.startswith("PDF 生成失败：") for message in messages_of(response))


@pytest.mark.parametrize("member", ["admin", "manager_a", "firm_user_a"])
def test_only_the_reviewer_retries_the_pdf(client_for, cast, failed_pdf, member):
    response = client_for(getattr(cast, member)).post(action_url("document_retry_pdf", failed_pdf))

    assert response.status_code == 403
    failed_pdf.refresh_from_db()
    assert failed_pdf.pdf_attempts == 1


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_retry_with_libreoffice_makes_the_pdf(client_for, cast, failed_pdf, settings):
    settings.SOFFICE_BINARY = "soffice"

    response = client_for(cast.reviewer).post(
        action_url("document_retry_pdf", failed_pdf), follow=True
    )

    failed_pdf.refresh_from_db()
    assert "PDF 已生成。" in messages_of(response)
    assert failed_pdf.sha256_pdf in response.content.decode()
    assert download_url(failed_pdf, "pdf") in response.content.decode()


# --- The lists ------------------------------------------------------------------------------------


def test_the_firm_lists_its_signed_documents_with_their_receipt(client_for, cast, order):
    _inspection, drafted = submitted_inspection(cast)
    do_acknowledge_document(actor=cast.firm_user_a, document=order)

    response = client_for(cast.firm_user_a).get(list_url())

    listed = set(response.context["page"].object_list)
    record = Document.objects.get(inspection=order.inspection, doc_type=DocType.INSPECTION_RECORD)
    assert listed == {order, record}
    assert not listed & set(drafted.values())
    assert response.context["form"] is None
    order.refresh_from_db()
    body = response.content.decode()
    assert body.count("未签收") == 1
    assert f"已于 {timezone.localtime(order.acknowledged_at):%Y-%m-%d %H:%M} 签收" in body
    assert client_for(cast.firm_user_b).get(list_url()).context["page"].paginator.count == 0


def test_the_agency_lists_its_documents_with_status_and_delivery(client_for, cast, order):
    response = client_for(cast.manager_a).get(list_url())

    assert response.context["page"].paginator.count == 2
    body = response.content.decode()
    assert order.number in body and "已签发" in body and "未签收" in body
    assert client_for(cast.manager_b).get(list_url()).context["page"].paginator.count == 0


def test_the_bureau_filters_by_status_and_type(client_for, cast, order):
    submitted_inspection(cast)
    reviewer = client_for(cast.reviewer)

    def listed(**query):
        return list(reviewer.get(list_url(**query)).context["page"].object_list)

    assert len(listed()) == 4
    assert {d.status for d in listed(status="pending")} == {Document.Status.PENDING}
    assert len(listed(status="approved")) == 2
    assert listed(status="approved", doc_type=DocType.RECTIFICATION_ORDER) == [order]


def test_the_outsider_is_refused_the_list(client_for, cast, order):
    response = client_for(cast.outsider).get(list_url())

    assert response.status_code == 403
    assert cast.firm_a.name not in response.content.decode()


@pytest.mark.parametrize("member", ["reviewer", "manager_a", "firm_user_a"])
def test_the_list_runs_the_same_queries_for_more_rows(
    client_for, cast, order, member, django_assert_max_num_queries
):
    client = client_for(getattr(cast, member))
    with django_assert_max_num_queries(10) as few:
        client.get(list_url())
    for _ in range(3):
        inspection, drafted = submitted_inspection(cast)
        for document in drafted.values():
            do_approve_document(actor=cast.reviewer, document=document)
        do_acknowledge_document(
            actor=cast.firm_user_a, document=drafted[DocType.RECTIFICATION_ORDER]
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(list_url()).context["page"].paginator.count == 8


def test_a_corrected_document_points_to_its_correction(client_for, cast, order):
    correction = Document.objects.create(
        bureau=order.bureau,
        doc_type=order.doc_type,
        inspection=order.inspection,
        firm=order.firm,
        agency=order.agency,
        version=2,
        template=order.template,
        context=order.context,
        drafted_by=cast.inspector_a1,
        supersedes=order,
    )
    do_approve_document(actor=cast.reviewer, document=correction)

    response = client_for(cast.firm_user_a).get(detail_url(order))

    body = response.content.decode()
    assert "已被更正" in body
    assert detail_url(correction) in body
    assert action_url("document_acknowledge", order) not in body
    correction_page = client_for(cast.firm_user_a).get(detail_url(correction)).content.decode()
    assert detail_url(order) in correction_page
