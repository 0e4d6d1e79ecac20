"""The inspector's phone pages (issue 4): my firms, starting an inspection, the checklist with
one tap per answer, hazards found on the page, review and submit; and who may open them."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.services import (
    do_answer_item,
    do_start_inspection,
    do_submit_inspection,
)
from contractors.register.models import Firm
from contractors.tenancy.services import do_share_out_firms
from tests.conftest import assign, make_firm

PASS = ChecklistAnswer.Answer.PASS


@pytest.fixture
def checklist(cast):
    return do_install_default_checklist(actor=None, bureau=cast.bureau)


def start_inspection(cast, *, firm=None, **fields):
    """A draft routine inspection of firm A today by agency A's two inspectors."""
    values = {
        "kind": Inspection.Kind.ROUTINE,
        "inspected_on": timezone.localdate(),
        "inspectors": [cast.inspector_a1, cast.inspector_a2],
        "firm_representative": "张安全",
        **fields,
    }
    return do_start_inspection(actor=cast.inspector_a1, firm=firm or cast.firm_a, **values)


def answer_all(actor, inspection, answer=PASS):
    for item in inspection.checklist.items.all():
        do_answer_item(actor=actor, inspection=inspection, item=item, answer=answer)


def submitted_inspection(cast, **fields):
    inspection = start_inspection(cast, **fields)
    answer_all(cast.inspector_a1, inspection)
    return do_submit_inspection(actor=cast.inspector_a1, inspection=inspection)


def share_out(cast, *firms):
    do_share_out_firms(
        actor=cast.manager_a,
        agency=cast.agency_a,
        firms=Firm.objects.filter(pk__in=[firm.pk for firm in firms]),
        inspector=cast.inspector_a1,
    )


def detail_url(inspection):
    return reverse("contractors:inspection_detail", kwargs={"inspection_id": inspection.id})


def start_url(firm):
    return reverse("contractors:firm_inspections", kwargs={"firm_id": firm.id})


def start_form(cast, **overrides):
    today = timezone.localdate().isoformat()
    return {
        "kind": "routine",
        "inspected_on": today,
        "time_from": "09:00",
        "time_to": "10:30",
        "inspectors": [str(cast.inspector_a1.pk), str(cast.inspector_a2.pk)],
        "firm_representative": "张安全",
        "firm_representative_post": "安全主管",
        "firm_representative_phone": "13800000000",
        "place": "一号车间",
        "latitude": "31.2397451",
        "longitude": "121.4243119",
        **overrides,
    }


# --- My firms -----------------------------------------------------------------------------------


def test_my_firms_lists_the_firms_shared_out_to_the_inspector_with_the_last_inspection(
    client_for, cast, checklist
):
    share_out(cast, cast.firm_a)
    inspection = start_inspection(cast, inspected_on=timezone.localdate() - timedelta(days=3))
    page = client_for(cast.inspector_a1).get(reverse("contractors:my_firms"))
    assert page.status_code == 200
    html = page.content.decode()
    assert cast.firm_a.name in html
    assert cast.firm_b.name not in html
    assert "最近检查" in html
    assert inspection.inspected_on.isoformat() in html
    assert start_url(cast.firm_a) in html
    assert "开始检查" in html


def test_my_firms_leaves_out_firms_not_shared_out_to_the_inspector(client_for, cast):
    html = client_for(cast.inspector_a2).get(reverse("contractors:my_firms")).content.decode()
    assert cast.firm_a.name not in html
    assert "负责人把企业分给您之后" in html


def test_the_manager_sees_all_of_the_agencys_firms(client_for, cast):
    html = client_for(cast.manager_a).get(reverse("contractors:my_firms")).content.decode()
    assert cast.firm_a.name in html
    assert cast.firm_b.name not in html


@pytest.mark.parametrize("who", ["admin", "reviewer", "firm_user_a", "outsider"])
def test_my_firms_is_for_agency_staff_only(client_for, cast, who):
    assert client_for(getattr(cast, who)).get(reverse("contractors:my_firms")).status_code == 403


def test_my_firms_takes_the_same_number_of_queries_for_more_firms(
    client_for, cast, checklist, django_assert_max_num_queries
):
    client = client_for(cast.inspector_a1)
    url = reverse("contractors:my_firms")
    share_out(cast, cast.firm_a)
    start_inspection(cast)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    firms = [make_firm(cast.bureau, cast.register.taopu, 100 + n) for n in range(8)]
    assign(cast.contract_a, *firms)
    share_out(cast, *firms)
    for firm in firms[:4]:
        start_inspection(cast, firm=firm)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).context["page"].object_list) == 9


# --- Starting an inspection ----------------------------------------------------------------------


def test_the_start_form_offers_the_agencys_staff_with_the_inspector_ticked(
    client_for, cast, checklist
):
    page = client_for(cast.inspector_a1).get(start_url(cast.firm_a))
    assert page.status_code == 200
    form = page.context["form"]
    assert set(form.fields["inspectors"].queryset) == {
        cast.manager_a,
        cast.inspector_a1,
        cast.inspector_a2,
    }
    assert form.initial["inspectors"] == [cast.inspector_a1.pk]
    html = page.content.decode()
    assert "获取位置" in html
    assert 'name="latitude"' in html


@pytest.mark.parametrize("who", ["admin", "reviewer", "firm_user_a"])
def test_who_cannot_start_sees_the_firms_inspections_without_the_form(
    client_for, cast, checklist, who
):
    client = client_for(getattr(cast, who))
    page = client.get(start_url(cast.firm_a))
    assert page.status_code == 200
    assert page.context["form"] is None
    assert client.post(start_url(cast.firm_a), start_form(cast)).status_code == 403
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("who", ["inspector_b1", "manager_b", "firm_user_b", "outsider"])
def test_another_tenant_gets_404_for_the_firm(client_for, cast, checklist, who):
    client = client_for(getattr(cast, who))
    assert client.get(start_url(cast.firm_a)).status_code == 404
    assert client.post(start_url(cast.firm_a), start_form(cast)).status_code == 404


def test_starting_an_inspection_through_the_form(client_for, cast, checklist):
    response = client_for(cast.inspector_a1).post(start_url(cast.firm_a), start_form(cast))
    inspection = Inspection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(inspection)
    assert inspection.status == Inspection.Status.DRAFT
    assert set(inspection.inspectors.all()) == {cast.inspector_a1, cast.inspector_a2}
    assert inspection.firm_representative_post == "安全主管"
    assert str(inspection.latitude) == "31.239745"


def one_inspector(cast):
    return {"inspectors": [str(cast.inspector_a1.pk)]}


def another_agencys_inspector(cast):
    return {"inspectors": [str(cast.inspector_a1.pk), str(cast.inspector_b1.pk)]}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (one_inspector, "inspectors", "检查人员不得少于两人。"),
        (another_agencys_inspector, "inspectors", "检查人员必须是本机构的检查员或负责人。"),
        (
            lambda cast: {"time_from": "10:00", "time_to": "09:00"},
            "time_to",
            "检查结束时间不能早于开始时间。",
        ),
        (
            lambda cast: {"kind": "campaign", "campaign": ""},
            "campaign",
            "专项检查请填写专项整治名称。",
        ),
        (lambda cast: {"latitude": "91"}, "latitude", "坐标超出范围。"),
    ],
    ids=["one-inspector", "other-agency", "time-order", "campaign", "latitude"],
)
def test_bad_input_is_shown_at_the_field_and_what_was_typed_is_kept(
    client_for, cast, checklist, overrides, field, message
):
    page = client_for(cast.inspector_a1).post(
        start_url(cast.firm_a), start_form(cast, **overrides(cast))
    )
    assert page.status_code == 200
    form = page.context["form"]
    assert form.errors[field] == [message]
    html = page.content.decode()
    assert message in html
    assert 'value="张安全"' in html
    assert 'value="一号车间"' in html
    assert not Inspection.objects.exists()


# --- The inspection page and its checklist --------------------------------------------------------


def test_the_inspection_page_carries_the_checklist_the_camera_input_and_the_script(
    client_for, cast, checklist
):
    inspection = start_inspection(cast)
    html = client_for(cast.inspector_a1).get(detail_url(inspection)).content.decode()
    first = checklist.items.order_by("position").first()
    assert first.text in html
    assert 'type="file" accept="image/*" capture="environment" multiple' in html
    assert "portal/evidence-upload.js" in html
    assert html.count('name="answer" value="hazard"') == checklist.items.count()
    for label in ("符合", "隐患", "不适用", "生产安全", "消防安全"):
        assert label in html


@pytest.mark.parametrize("who", ["admin", "reviewer", "manager_a"])
def test_the_bureau_and_the_agency_see_a_draft(client_for, cast, checklist, who):
    inspection = start_inspection(cast)
    assert client_for(getattr(cast, who)).get(detail_url(inspection)).status_code == 200


@pytest.mark.parametrize("who", ["firm_user_a", "firm_user_b", "inspector_b1", "outsider"])
def test_a_draft_is_404_to_the_firm_and_to_other_tenants(client_for, cast, checklist, who):
    inspection = start_inspection(cast)
    assert client_for(getattr(cast, who)).get(detail_url(inspection)).status_code == 404


def test_the_bureau_sees_a_draft_read_only(client_for, cast, checklist):
    inspection = start_inspection(cast)
    html = client_for(cast.admin).get(detail_url(inspection)).content.decode()
    assert 'name="answer"' not in html
    assert 'type="file"' not in html
    assert "evidence-upload.js" not in html


def answer(client, inspection, item, value, **headers):
    return client.post(
        reverse("contractors:inspection_answer", kwargs={"inspection_id": inspection.id}),
        {"item": str(item.id), "answer": value},
        headers=headers,
    )


def test_one_tap_on_hazard_records_a_hazard_prefilled_from_the_item(client_for, cast, checklist):
    inspection = start_inspection(cast)
    item = checklist.items.order_by("position").first()
    response = answer(client_for(cast.inspector_a1), inspection, item, "hazard")
    assert response.status_code == 302
    assert response["Location"] == f"{detail_url(inspection)}#item-{item.id}"
    hazard = Hazard.objects.get()
    assert (hazard.item, hazard.category, hazard.description) == (item, item.category, item.text)
    assert (hazard.legal_basis, hazard.requirement) == (item.legal_basis, item.requirement)
    assert hazard.level == HazardLevel.GENERAL
    assert hazard.deadline == inspection.inspected_on + timedelta(days=30)
    page = client_for(cast.inspector_a1).get(response["Location"])
    assert reverse("contractors:hazard_detail", kwargs={"hazard_id": hazard.id}) in (
        page.content.decode()
    )


def test_the_script_gets_the_answered_item_back_to_swap_in_place(client_for, cast, checklist):
    inspection = start_inspection(cast)
    item = checklist.items.order_by("position").first()
    client = client_for(cast.inspector_a1)
    response = answer(client, inspection, item, "hazard", X_Requested_With="fetch")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<li class="item answer-hazard" id="item-{item.id}"')
    hazard = Hazard.objects.get()
    assert reverse("contractors:hazard_detail", kwargs={"hazard_id": hazard.id}) in html
    response = answer(client, inspection, item, "pass", X_Requested_With="fetch")
    assert 'class="answer-pass chosen" aria-pressed="true"' in response.content.decode()
    assert not Hazard.objects.exists()
    assert ChecklistAnswer.objects.get().answer == PASS


def test_an_answer_refused_by_the_service_is_shown_on_the_item(client_for, cast, checklist):
    inspection = submitted_inspection(cast)
    item = checklist.items.order_by("position").first()
    response = answer(
        client_for(cast.inspector_a1), inspection, item, "hazard", X_Requested_With="fetch"
    )
    assert response.status_code == 400
    assert "已提交的检查不能修改。" in response.content.decode()
    assert not Hazard.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("admin", 403), ("firm_user_a", 404)])
def test_only_the_agency_answers(client_for, cast, checklist, who, status):
    inspection = start_inspection(cast)
    item = checklist.items.first()
    assert answer(client_for(getattr(cast, who)), inspection, item, "pass").status_code == status
    assert not ChecklistAnswer.objects.exists()


def test_a_hazard_recorded_on_the_page_keeps_the_input_when_refused(client_for, cast, checklist):
    inspection = start_inspection(cast)
    url = reverse("contractors:inspection_hazard_create", kwargs={"inspection_id": inspection.id})
    data = {
        "category": HazardCategory.FIRE,
        "level": HazardLevel.GENERAL,
        "description": "疏散通道堆放杂物",
        "location": "二号仓库",
        "deadline": (timezone.localdate() - timedelta(days=1)).isoformat(),
    }
    client = client_for(cast.inspector_a1)
    page = client.post(url, data)
    assert page.status_code == 200
    assert page.context["hazard_form"].errors["deadline"] == ["整改期限不能早于今天。"]
    assert "疏散通道堆放杂物" in page.content.decode()
    assert not Hazard.objects.exists()
    data["deadline"] = (timezone.localdate() + timedelta(days=7)).isoformat()
    response = client.post(url, data)
    hazard = Hazard.objects.get()
    assert response["Location"] == reverse(
        "contractors:hazard_detail", kwargs={"hazard_id": hazard.id}
    )
    assert hazard.location == "二号仓库"


# --- Review and submit ---------------------------------------------------------------------------


def review_url(inspection):
    return reverse("contractors:inspection_review", kwargs={"inspection_id": inspection.id})


def submit_url(inspection):
    return reverse("contractors:inspection_submit", kwargs={"inspection_id": inspection.id})


def test_the_review_counts_answers_and_lists_the_missing_ones(client_for, cast, checklist):
    inspection = start_inspection(cast)
    items = list(checklist.items.order_by("position"))
    do_answer_item(actor=cast.inspector_a1, inspection=inspection, item=items[0], answer="hazard")
    page = client_for(cast.inspector_a1).get(review_url(inspection))
    assert page.context["answered"] == 1
    assert page.context["total"] == len(items)
    assert page.context["missing"] == items[1:]
    html = page.content.decode()
    assert f"1 / {len(items)}" in html
    assert items[1].text in html
    assert "提交检查" in html


def test_submitting_an_incomplete_inspection_is_refused_with_the_reason(
    client_for, cast, checklist
):
    inspection = start_inspection(cast)
    page = client_for(cast.inspector_a1).post(submit_url(inspection))
    assert page.status_code == 200
    count = checklist.items.count()
    assert f"还有{count}项检查内容未填写结果。" in page.content.decode()
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.DRAFT


def test_submitting_a_complete_inspection_makes_it_read_only(client_for, cast, checklist):
    inspection = start_inspection(cast)
    answer_all(cast.inspector_a1, inspection)
    client = client_for(cast.inspector_a1)
    response = client.post(submit_url(inspection))
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.SUBMITTED
    html = client.get(detail_url(inspection)).content.decode()
    assert 'name="answer"' not in html
    assert 'type="file"' not in html
    assert "提交检查" not in client.get(review_url(inspection)).content.decode()


def test_the_bureau_cannot_submit_for_the_agency(client_for, cast, checklist):
    inspection = start_inspection(cast)
    answer_all(cast.inspector_a1, inspection)
    assert client_for(cast.admin).post(submit_url(inspection)).status_code == 403
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.DRAFT


# --- Inspection lists ----------------------------------------------------------------------------


def test_the_firm_sees_its_submitted_inspections_never_drafts(client_for, cast, checklist):
    submitted = submitted_inspection(cast, place="一号车间")
    draft = start_inspection(cast, place="二号车间")
    page = client_for(cast.firm_user_a).get(reverse("contractors:inspection_list"))
    assert page.status_code == 200
    assert list(page.context["page"].object_list) == [submitted]
    html = page.content.decode()
    assert "本企业的检查" in html
    assert detail_url(draft) not in html
    assert client_for(cast.firm_user_a).get(detail_url(submitted)).status_code == 200
    other = client_for(cast.firm_user_b).get(reverse("contractors:inspection_list"))
    assert not list(other.context["page"].object_list)


def test_the_bureau_filters_inspections_by_agency_street_and_status(client_for, cast, checklist):
    submitted = submitted_inspection(cast)
    client = client_for(cast.reviewer)
    url = reverse("contractors:inspection_list")

    def listed(**query):
        return list(client.get(url, query).context["page"].object_list)

    draft = start_inspection(cast)
    assert set(listed()) == {submitted, draft}
    assert listed(status="submitted") == [submitted]
    assert set(listed(agency=cast.agency_a.pk)) == {submitted, draft}
    assert not listed(agency=cast.agency_b.pk)
    assert not listed(street=cast.register.taopu.pk)
    assert len(listed(street=cast.register.changshou.pk)) == 2


def test_another_agency_does_not_list_the_inspections(client_for, cast, checklist):
    start_inspection(cast)
    page = client_for(cast.inspector_b1).get(reverse("contractors:inspection_list"))
    assert not list(page.context["page"].object_list)
    assert cast.firm_a.name not in page.content.decode()


def test_the_outsider_gets_403_for_the_lists(client_for, cast):
    client = client_for(cast.outsider)
    assert client.get(reverse("contractors:inspection_list")).status_code == 403
    assert client.get(reverse("contractors:hazard_list")).status_code == 403


def test_the_inspection_list_takes_the_same_number_of_queries_for_more_inspections(
    client_for, cast, checklist, django_assert_max_num_queries
):
    client = client_for(cast.admin)
    url = reverse("contractors:inspection_list")
    start_inspection(cast)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    for _n in range(5):
        start_inspection(cast)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).context["page"].object_list) == 6
