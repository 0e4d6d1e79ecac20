"""The API's error answers the fuzzed API (tests/config/test_api_fuzz.py) found outside the
contract, each kept here as a plain regression test (ASVS 5.0 V4.1.1: the content type is the
documented one; V16.5.3: bad input fails safely, in the documented shape)."""

import pytest

CONTRACTS_URL = "/api/v1/contracts/"
LISTS = [
    "/api/v1/users/",
    "/api/v1/firms/",
    "/api/v1/streets/",
    "/api/v1/parks/",
    "/api/v1/contracts/",
    "/api/v1/inspections/",
    "/api/v1/hazards/",
    "/api/v1/documents/",
]


def test_a_body_that_is_not_json_is_bad_input_in_the_field_errors_shape(cast, api_for):
    response = api_for(cast.admin).post(
        CONTRACTS_URL, data=b"\x00", content_type="application/json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["errors"]
    assert response.json()["errors"]["non_field_errors"]


def test_the_errors_of_a_lists_items_are_flat_messages_that_say_which_item(cast, api_for):
    response = api_for(cast.inspector_a1).post(
        "/api/v1/inspections/",
        {"firm": str(cast.firm_a.pk), "inspectors": [str(cast.inspector_a1.pk), "x"]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"]["inspectors"] == ["第 2 项：必须是有效的 UUID。"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/firms/not-a-uuid/",
        "/api/v1/inspections/123/submit/",
        "/api/v1/documents/%E4%B8%AD/download/",
        "/api/v1/no-such-thing/",
    ],
)
def test_an_api_url_no_route_takes_is_a_json_404(cast, api_for, path):
    response = api_for(cast.admin).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_page_url_no_route_takes_is_still_the_html_404(cast, client_for):
    response = client_for(cast.admin).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("page", ["2", "0", "-1", "x"])
def test_a_page_that_does_not_exist_is_a_json_404(cast, api_for, page):
    response = api_for(cast.admin).get(CONTRACTS_URL, {"page": page})

    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.fixture
def schema(db, api_for):
    return api_for(None).get("/api/schema/", {"format": "json"}).json()


def test_the_schema_documents_the_404_of_a_missing_page_on_every_list(schema):
    paginated = [
        path
        for path, operations in schema["paths"].items()
        if "page"
        in {parameter["name"] for parameter in operations.get("get", {}).get("parameters", [])}
    ]

    assert set(LISTS) <= set(paginated)
    for path in paginated:
        not_found = schema["paths"][path]["get"]["responses"].get("404")
        assert not_found, path
        assert not_found["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/DetailError"
        }
