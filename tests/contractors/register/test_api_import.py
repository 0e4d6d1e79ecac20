import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from contractors.register.models import Firm
from contractors.register.uscc import make_uscc
from portal.models import AuditEvent

IMPORT_URL = "/api/v1/firms/import/"
HEADER = "统一社会信用代码,企业名称,所属街道"
GOOD_CODE = make_uscc(region="310107", serial=501)
BAD_CODE = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")


def register_file(*rows):
    text = "\n".join([HEADER, *(",".join(row) for row in rows)]) + "\n"
    return SimpleUploadedFile("名录.csv", text.encode("utf-8"), content_type="text/csv")


def good_row(name="丙新材料有限公司"):
    return (GOOD_CODE, name, "长寿路街道")


def bad_row():
    return (BAD_CODE, "丁机械有限公司", "长寿路街道")


def post(api, upload, **flags):
    data = {"file": upload, **{key: str(value).lower() for key, value in flags.items()}}
    return api.post(IMPORT_URL, data, format="multipart")


def imported():
    return set(
        Firm.objects.filter(name__in=["丙新材料有限公司", "丁机械有限公司"]).values_list(
            "name", flat=True
        )
    )


def test_admin_imports_a_register_file(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row()))
    assert response.status_code == 200
    assert response.json() == {"created": 1, "updated": 0, "unchanged": 0, "errors": []}
    firm = Firm.objects.get(uscc=GOOD_CODE)
    assert firm.name == "丙新材料有限公司"
    assert firm.street == cast.register.changshou
    assert firm.bureau == cast.bureau
    assert AuditEvent.objects.filter(action="register.import", actor=cast.admin).exists()


def test_reimport_updates_by_credit_code(cast, api_for):
    api = api_for(cast.admin)
    post(api, register_file(good_row()))
    response = post(api, register_file(good_row("丙新材料科技有限公司")))
    assert response.status_code == 200
    assert response.json()["updated"] == 1
    assert Firm.objects.get(uscc=GOOD_CODE).name == "丙新材料科技有限公司"
    assert post(api, register_file(good_row("丙新材料科技有限公司"))).json()["unchanged"] == 1


def test_dry_run_reports_without_writing(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row()), dry_run=True)
    assert response.status_code == 200
    assert response.json()["created"] == 1
    assert imported() == set()


def test_any_bad_row_rejects_the_whole_file(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row(), bad_row()))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"created", "updated", "unchanged", "errors"}
    [error] = body["errors"]
    assert error["row"] == 3
    assert error["field"]
    assert "第18位" in error["message"]
    assert imported() == set()


def test_dry_run_with_a_bad_row_reports_it_with_200(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row(), bad_row()), dry_run=True)
    assert response.status_code == 200
    assert [error["row"] for error in response.json()["errors"]] == [3]
    assert imported() == set()


def test_valid_only_writes_the_good_rows_and_reports_the_bad(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row(), bad_row()), valid_only=True)
    assert response.status_code == 200
    body = response.json()
    assert body["created"] == 1
    assert [error["row"] for error in body["errors"]] == [3]
    assert imported() == {"丙新材料有限公司"}


def test_missing_file_is_400_in_the_errors_shape(cast, api_for):
    response = api_for(cast.admin).post(IMPORT_URL, {"dry_run": "true"}, format="multipart")
    assert response.status_code == 400
    assert list(response.json()) == ["errors"]
    assert list(response.json()["errors"]) == ["file"]


@override_settings(REGISTER_IMPORT_MAX_BYTES=32)
def test_oversized_file_is_refused_before_reading(cast, api_for):
    response = post(api_for(cast.admin), register_file(good_row()))
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["file"]
    assert imported() == set()


@pytest.mark.parametrize(
    "member", ["reviewer", "manager_a", "inspector_b1", "firm_user_a", "outsider"]
)
def test_only_the_bureau_admin_may_import(cast, api_for, member):
    response = post(api_for(getattr(cast, member)), register_file(good_row()))
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    assert imported() == set()


def test_anonymous_import_is_401(cast, api_for):
    response = post(api_for(None), register_file(good_row()))
    assert response.status_code == 401
    assert imported() == set()
