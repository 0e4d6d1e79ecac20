"""The bureau's review pages: the queue of pending documents, a document next to its evidence,
approving it (the number appears) and returning it with a reason (the inspector sees it)."""

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import do_answer_item, do_submit_inspection
from documents.models import DocType, Document
from documents.review.services import do_approve_document
from portal.models import AuditEvent
from portal.storage import LocalStore
from tests.documents.factories import draft_inspection, submitted_inspection

RECORD = DocType.INSPECTION_RECORD
ORDER = DocType.RECTIFICATION_ORDER


def detail_url(document):
    return reverse("documents:document_detail", kwargs={"document_id": document.id})


def action_url(name, document):
    return reverse(f"documents:{name}", kwargs={"document_id": document.id})


def queue_url(**query):
    url = reverse("documents:review_queue")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def drafted(cast, local_storage):
    """A submitted inspection of firm A: its drafted record and order."""
    return submitted_inspection(cast)[1]


# --- The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_pending_documents_oldest_first_with_who_and_since(
    client_for, cast, drafted
):
    response = client_for(cast.reviewer).get(queue_url())

    assert response.status_code == 200
    listed = list(response.context["page"].object_list)
    assert listed == sorted(drafted.values(), key=lambda document: document.created_at)
    body = response.content.decode()
    assert body.index("现场检查记录 · 甲化工有限公司") < body.index(
        "责令限期整改指令书 · 甲化工有限公司"
    )
    assert cast.agency_a.name in body and "长寿路街道" in body
    assert "已等待" in body


def test_signed_documents_leave_the_queue(client_for, cast, drafted):
    do_approve_document(actor=cast.reviewer, document=drafted[RECORD])

    listed = client_for(cast.reviewer).get(queue_url()).context["page"].object_list

    assert list(listed) == [drafted[ORDER]]


def test_the_queue_filters_by_type_agency_and_street(client_for, cast, drafted):
    reviewer = client_for(cast.reviewer)

    def listed(**query):
        return list(reviewer.get(queue_url(**query)).context["page"].object_list)

    assert listed(doc_type=ORDER) == [drafted[ORDER]]
    assert listed(agency=cast.agency_b.pk) == []
    assert len(listed(agency=cast.agency_a.pk)) == 2
    assert listed(street=cast.register.taopu.pk) == []
    assert len(listed(street=cast.register.changshou.pk)) == 2


@pytest.mark.parametrize("member", ["manager_a", "inspector_a1", "firm_user_a", "outsider"])
def test_only_bureau_staff_open_the_queue(client_for, cast, drafted, member):
    response = client_for(getattr(cast, member)).get(queue_url())

    assert response.status_code == 403
    assert cast.firm_a.name not in response.content.decode()


def test_the_admin_may_look_at_the_queue_and_anonymous_users_log_in(client_for, cast, drafted):
    assert client_for(cast.admin).get(queue_url()).status_code == 200
    response = client_for(None).get(queue_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_queue_runs_the_same_queries_for_more_rows(
    client_for, cast, local_storage, django_assert_max_num_queries
):
    reviewer = client_for(cast.reviewer)
    submitted_inspection(cast)
    with django_assert_max_num_queries(10) as few:
        assert len(reviewer.get(queue_url()).context["page"].object_list) == 2
    for _ in range(3):
        submitted_inspection(cast)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(reviewer.get(queue_url()).context["page"].object_list) == 8


# --- The document next to its evidence ------------------------------------------------------------


def test_the_reviewer_reads_the_draft_beside_the_hazards(client_for, cast, drafted):
    response = client_for(cast.reviewer).get(detail_url(drafted[RECORD]))

    assert response.status_code == 200
    body = response.content.decode()
    preview = str(response.context["preview"])
    assert "现场检查记录" in preview and cast.firm_a.name in preview
    # The hazard text is shown escaped, in the preview and in the hazard list.
    assert "&lt;A&amp;B&gt; &quot;急&quot;" in preview
    assert "<A&B>" not in body
    assert [hazard.description for hazard in response.context["hazards"]] == [
        '仓库消防通道被货物堵塞 <A&B> "急"',
        "配电箱未张贴警示标志",
    ]
    assert "待审核" in body
    assert action_url("document_approve", drafted[RECORD]) in body
    assert action_url("document_reject", drafted[RECORD]) in body
    assert action_url("document_draft", drafted[RECORD]) in body


def test_the_page_shows_the_hazard_answers_of_the_checklist(client_for, cast, local_storage):
    inspection = draft_inspection(cast)
    item = inspection.checklist.items.order_by("position").first()
    do_answer_item(
        actor=cast.inspector_a1,
        inspection=inspection,
        item=item,
        answer=ChecklistAnswer.Answer.HAZARD,
        note="东侧通道",
    )
    inspection = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    record = next(d for d in inspection.drafted_documents if d.doc_type == RECORD)

    response = client_for(cast.reviewer).get(detail_url(record))

    assert [answer.pk for answer in response.context["hazard_answers"]] == [item.pk]
    assert "东侧通道" in response.content.decode()


def test_a_photo_of_a_hazard_is_shown_with_when_and_where_it_was_taken(
    client_for, cast, local_storage
):
    inspection = draft_inspection(cast)
    hazard = inspection.hazards.order_by("created_at").first()
    photo = Evidence.objects.create(
        bureau=cast.bureau,
        inspection=inspection,
        hazard=hazard,
        status=Evidence.Status.CONFIRMED,
        key=f"bureau/{cast.bureau.pk}/inspection/{inspection.pk}/{uuid.uuid4()}.jpg",
        filename="通道.jpg",
        content_type="image/jpeg",
        size=4,
        sha256="0" * 64,
        uploaded_by=cast.inspector_a1,
        expires_at=timezone.now() + timedelta(minutes=15),
        confirmed_at=timezone.now(),
        taken_at=timezone.make_aware(datetime(2021, 10, 12, 9, 41)),
        taken_latitude=Decimal("31.249100"),
        taken_longitude=Decimal("121.397800"),
        thumbnail_key=f"bureau/{cast.bureau.pk}/inspection/{inspection.pk}/thumb.jpg",
    )
    inspection = do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)
    record = next(d for d in inspection.drafted_documents if d.doc_type == RECORD)

    body = client_for(cast.reviewer).get(detail_url(record)).content.decode()

    download = reverse("contractors:evidence_download", kwargs={"evidence_id": photo.id})
    assert f'<img class="thumbnail" src="{download}?thumbnail=1"' in body
    assert "2021-10-12 09:41" in body
    assert "31.249100, 121.397800" in body


def test_the_reviewer_approves_and_sees_the_number(client_for, cast, drafted):
    record = drafted[RECORD]

    response = client_for(cast.reviewer).post(action_url("document_approve", record), follow=True)

    record.refresh_from_db()
    year = timezone.localdate().year
    assert record.status == Document.Status.APPROVED
    assert record.number == f"（普）应急检记〔{year}〕1号"
    assert response.redirect_chain[-1][0] == detail_url(record)
    assert f"文书已签发，文号：（普）应急检记〔{year}〕1号" in messages_of(response)
    body = response.content.decode()
    assert record.sha256_docx in body
    assert action_url("document_approve", record) not in body
    docx = reverse("documents:document_download", kwargs={"document_id": record.id, "fmt": "docx"})
    assert docx in body


def test_approving_twice_is_a_message_not_an_error(client_for, cast, drafted):
    reviewer = client_for(cast.reviewer)
    reviewer.post(action_url("document_approve", drafted[RECORD]))

    response = reviewer.post(action_url("document_approve", drafted[RECORD]), follow=True)

    assert response.status_code == 200
    assert "只有待审核的文书可以签发或退回。" in messages_of(response)
    drafted[RECORD].refresh_from_db()
    assert drafted[RECORD].sequence == 1


def test_a_storage_failure_on_approval_is_explained_and_takes_no_number(
    client_for, cast, drafted, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(LocalStore, "put", refuse)

    response = client_for(cast.reviewer).post(
        action_url("document_approve", drafted[RECORD]), follow=True
    )

    assert "文书存储失败，请稍后重试" in messages_of(response)
    drafted[RECORD].refresh_from_db()
    assert drafted[RECORD].status == Document.Status.PENDING
    assert drafted[RECORD].number == ""


@pytest.mark.parametrize("member", ["admin", "manager_a", "inspector_a1"])
def test_only_the_reviewer_approves_or_returns(client_for, cast, drafted, member):
    client = client_for(getattr(cast, member))

    assert client.post(action_url("document_approve", drafted[RECORD])).status_code == 403
    response = client.post(action_url("document_reject", drafted[RECORD]), {"reason": "不行"})
    assert response.status_code == 403
    drafted[RECORD].refresh_from_db()
    assert drafted[RECORD].status == Document.Status.PENDING


def test_a_return_without_reason_keeps_the_form_with_its_error(client_for, cast, drafted):
    response = client_for(cast.reviewer).post(
        action_url("document_reject", drafted[RECORD]), {"reason": "   "}
    )

    assert response.status_code == 200
    assert response.context["reject_form"].errors == {"reason": ["请填写退回原因。"]}
    assert "请填写退回原因。" in response.content.decode()
    drafted[RECORD].refresh_from_db()
    assert drafted[RECORD].status == Document.Status.PENDING


def test_a_returned_document_sends_the_inspection_back_with_the_reason(client_for, cast, drafted):
    record = drafted[RECORD]
    reason = "检查时间未填写完整 <请补充>"

    response = client_for(cast.reviewer).post(
        action_url("document_reject", record), {"reason": reason}, follow=True
    )

    record.refresh_from_db()
    assert record.status == Document.Status.REJECTED
    assert record.review_reason == reason
    assert "文书已退回，检查已退回服务机构修改。" in messages_of(response)
    assert "检查时间未填写完整 &lt;请补充&gt;" in response.content.decode()
    assert record.inspection.status == Inspection.Status.RETURNED
    # The inspector finds the reason on the inspection page, with the returned documents.
    page = client_for(cast.inspector_a1).get(
        reverse("contractors:inspection_detail", kwargs={"inspection_id": record.inspection_id})
    )
    body = page.content.decode()
    assert "检查时间未填写完整 &lt;请补充&gt;" in body
    assert detail_url(record) in body and "已退回" in body


def test_a_resubmitted_draft_shows_the_earlier_version_and_its_reason(client_for, cast, drafted):
    reviewer = client_for(cast.reviewer)
    first = drafted[RECORD]
    reviewer.post(action_url("document_reject", first), {"reason": "请补充现场负责人职务"})
    inspection = Inspection.objects.get(pk=first.inspection_id)
    second = next(
        d
        for d in do_submit_inspection(
            actor=cast.inspector_a1, inspection=inspection
        ).drafted_documents
        if d.doc_type == RECORD
    )

    response = reviewer.get(detail_url(second))

    assert second.version == 2
    assert [v.version for v in response.context["versions"]] == [2, 1]
    body = response.content.decode()
    assert detail_url(first) in body
    assert "请补充现场负责人职务" in body
    assert reviewer.get(detail_url(first)).status_code == 200


# --- Who sees a document --------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["manager_b", "inspector_b1", "firm_user_b", "outsider"])
def test_other_tenants_get_404_for_the_document_and_its_actions(client_for, cast, drafted, member):
    client = client_for(getattr(cast, member))
    record = drafted[RECORD]

    assert client.get(detail_url(record)).status_code == 404
    assert client.get(action_url("document_draft", record)).status_code == 404
    assert client.post(action_url("document_approve", record)).status_code == 404
    assert client.post(action_url("document_reject", record), {"reason": "x"}).status_code == 404


def test_the_firm_does_not_see_a_draft(client_for, cast, drafted):
    assert client_for(cast.firm_user_a).get(detail_url(drafted[RECORD])).status_code == 404


def test_the_agency_reads_its_draft_without_review_buttons(client_for, cast, drafted):
    response = client_for(cast.manager_a).get(detail_url(drafted[RECORD]))

    assert response.status_code == 200
    body = response.content.decode()
    assert action_url("document_approve", drafted[RECORD]) not in body
    assert action_url("document_draft", drafted[RECORD]) in body


def test_staff_download_the_draft_and_it_is_audited(client_for, cast, drafted):
    record = drafted[RECORD]

    response = client_for(cast.manager_a).get(action_url("document_draft", record))

    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response["Content-Disposition"].startswith("attachment;")
    assert response.content.startswith(b"PK")
    event = AuditEvent.objects.get(action="document.draft_downloaded")
    assert event.actor == cast.manager_a
    assert event.target_id == str(record.pk)


def test_a_signed_document_has_no_draft_download(client_for, cast, drafted):
    record = do_approve_document(actor=cast.reviewer, document=drafted[RECORD])

    response = client_for(cast.manager_a).get(action_url("document_draft", record))

    assert response.status_code == 302
    assert response["Location"] == detail_url(record)
    assert not AuditEvent.objects.filter(action="document.draft_downloaded").exists()


def test_the_inspection_page_lists_its_documents(client_for, cast, drafted):
    record = do_approve_document(actor=cast.reviewer, document=drafted[RECORD])

    response = client_for(cast.inspector_a1).get(
        reverse("contractors:inspection_detail", kwargs={"inspection_id": record.inspection_id})
    )

    body = response.content.decode()
    assert detail_url(record) in body and detail_url(drafted[ORDER]) in body
    assert record.number in body
    assert "现场检查记录 · 第 1 版" in body and "责令限期整改指令书 · 第 1 版" in body
    assert "已签发" in body and "待审核" in body
