"""The register as a bureau admin uses it: search, filter, page through, open a firm, import."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contractors.register.models import Firm, RegisterImport
from contractors.register.uscc import make_uscc
from portal.models import AuditEvent
from tests.conftest import make_firm


def firm_list(client, **params):
    return client.get(reverse("contractors:firm_list"), params)


def test_bureau_staff_see_the_whole_register(client_for, cast):
    content = firm_list(client_for(cast.reviewer)).content.decode()
    assert cast.firm_a.name in content and cast.firm_b.name in content


def test_search_by_name_and_by_code(client_for, cast):
    client = client_for(cast.admin)
    by_name = firm_list(client, q="化工").content.decode()
    assert cast.firm_a.name in by_name and cast.firm_b.name not in by_name
    by_code = firm_list(client, q=cast.firm_b.uscc[-6:].lower()).content.decode()
    assert cast.firm_b.name in by_code and cast.firm_a.name not in by_code


def test_filters_by_street_park_and_key_category(client_for, cast):
    cast.firm_b.key_category = "fire"
    cast.firm_b.save()
    client = client_for(cast.admin)
    by_street = firm_list(client, street=cast.register.taopu.pk).content.decode()
    assert cast.firm_b.name in by_street and cast.firm_a.name not in by_street
    by_park = firm_list(client, park=cast.register.park.pk).content.decode()
    assert cast.firm_a.name in by_park and cast.firm_b.name not in by_park
    fire = firm_list(client, key_category="fire").content.decode()
    assert cast.firm_b.name in fire and cast.firm_a.name not in fire
    not_key = firm_list(client, key_category="none").content.decode()
    assert cast.firm_a.name in not_key and cast.firm_b.name not in not_key


def test_an_unknown_street_filter_is_reported_not_a_crash(client_for, cast):
    response = firm_list(client_for(cast.admin), street="not-a-street")
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "error" in response.content.decode()


def test_the_register_pages_through_fifty_firms_at_a_time(client_for, cast):
    for serial in range(100, 160):
        make_firm(cast.bureau, cast.register.taopu, serial)
    client = client_for(cast.admin)
    first = firm_list(client).content.decode()
    assert "共 62 家企业" in first and "第 1 / 2 页" in first
    second = firm_list(client, page=2, street=cast.register.taopu.pk).content.decode()
    assert "共 61 家企业" in second and "第 2 / 2 页" in second


@pytest.mark.parametrize("firms", [5, 80])
def test_the_register_list_costs_the_same_queries_for_any_number_of_firms(
    client_for, cast, django_assert_max_num_queries, firms
):
    for serial in range(200, 200 + firms):
        make_firm(
            cast.bureau,
            cast.register.changshou,
            serial,
            grid=cast.register.grid,
            park=cast.register.park,
        )
    client = client_for(cast.admin)
    # The ninth query fills the agency filter's select; the tenth is the admin's verified
    # second factor (django-otp's device of the session).
    with django_assert_max_num_queries(10):
        response = firm_list(client)
    assert response.status_code == 200


def test_firm_user_sees_only_its_own_firm(client_for, cast):
    client = client_for(cast.firm_user_a)
    assert client.get(reverse("contractors:firm_detail", args=[cast.firm_a.pk])).status_code == 200
    assert client.get(reverse("contractors:firm_detail", args=[cast.firm_b.pk])).status_code == 404
    content = firm_list(client).content.decode()
    assert cast.firm_a.name in content and cast.firm_b.name not in content


def test_firm_page_shows_the_register_facts(client_for, cast):
    content = (
        client_for(cast.reviewer)
        .get(reverse("contractors:firm_detail", args=[cast.firm_a.pk]))
        .content.decode()
    )
    assert cast.firm_a.uscc in content and "长寿路街道" in content and "铁三角工业园区" in content


def test_outsider_gets_403_on_the_register_and_404_on_a_firm(client_for, cast):
    client = client_for(cast.outsider)
    assert firm_list(client).status_code == 403
    assert client.get(reverse("contractors:firm_detail", args=[cast.firm_a.pk])).status_code == 404


def csv_upload(*rows, name="名录.csv", encoding="utf-8"):
    lines = ["统一社会信用代码,企业名称,所属街道", *rows]
    return SimpleUploadedFile(name, "\n".join(lines).encode(encoding), content_type="text/csv")


def upload(client, file):
    return client.post(reverse("contractors:register_import"), {"file": file}, follow=True)


def test_import_previews_first_and_writes_only_on_confirmation(client_for, cast):
    client = client_for(cast.admin)
    code = make_uscc(region="310107", serial=777)
    response = upload(client, csv_upload(f"{code},新导入有限公司,长寿路街道"))
    content = response.content.decode()
    assert "将新增" in content and "确认导入" in content
    assert not Firm.objects.filter(uscc=code).exists()

    item = RegisterImport.objects.get()
    response = client.post(
        reverse("contractors:register_import_commit", args=[item.pk]), follow=True
    )
    assert "导入完成：新增 1 家" in response.content.decode()
    assert Firm.objects.get(uscc=code).name == "新导入有限公司"
    assert AuditEvent.objects.filter(action="register.import", actor=cast.admin).exists()


def test_import_preview_lists_row_errors_and_can_import_only_valid_rows(client_for, cast):
    client = client_for(cast.admin)
    good = make_uscc(region="310107", serial=778)
    response = upload(
        client,
        csv_upload(
            f"{good},好企业有限公司,长寿路街道", "914403001922038217,坏代码有限公司,长寿路街道"
        ),
    )
    content = response.content.decode()
    assert "第 3 行" in content and "第18位" in content and "仅导入无误的行" in content

    item = RegisterImport.objects.get()
    client.post(reverse("contractors:register_import_commit", args=[item.pk]))
    assert not Firm.objects.filter(uscc=good).exists(), "errors without valid_only write nothing"

    client.post(reverse("contractors:register_import_commit", args=[item.pk]), {"valid_only": "on"})
    assert Firm.objects.filter(uscc=good).exists()
    assert not Firm.objects.filter(name="坏代码有限公司").exists()


def test_a_committed_import_cannot_be_committed_again(client_for, cast):
    client = client_for(cast.admin)
    upload(client, csv_upload(f"{make_uscc(region='310107', serial=779)},一次有限公司,长寿路街道"))
    item = RegisterImport.objects.get()
    url = reverse("contractors:register_import_commit", args=[item.pk])
    client.post(url)
    response = client.post(url, follow=True)
    assert "已经导入" in response.content.decode()


def test_a_file_of_the_wrong_type_is_refused_with_a_message(client_for, cast):
    client = client_for(cast.admin)
    response = upload(client, SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64))
    assert "CSV" in response.content.decode()
    assert Firm.objects.count() == 2


@pytest.mark.parametrize("who", ["reviewer", "inspector_a1", "firm_user_a", "outsider"])
def test_only_bureau_admins_import(client_for, cast, who):
    client = client_for(getattr(cast, who))
    assert client.get(reverse("contractors:register_import")).status_code == 403


def test_an_import_is_hidden_from_other_tenants_and_forbidden_to_the_reviewer(client_for, cast):
    upload(
        client_for(cast.admin),
        csv_upload(f"{make_uscc(region='310107', serial=780)},甲,长寿路街道"),
    )
    url = reverse("contractors:register_import_detail", args=[RegisterImport.objects.get().pk])
    assert client_for(cast.reviewer).get(url).status_code == 403
    for who in (cast.inspector_b1, cast.firm_user_a, cast.outsider):
        assert client_for(who).get(url).status_code == 404
