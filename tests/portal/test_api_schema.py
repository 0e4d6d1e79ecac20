import re

import pytest
from django.core.management import call_command

API_OPERATIONS = {
    ("/api/v1/auth/token/", "post"): "auth_token_create",
    ("/api/v1/me/", "get"): "me_retrieve",
    ("/api/v1/users/", "get"): "users_list",
    ("/api/v1/firms/", "get"): "firms_list",
    ("/api/v1/firms/{firm_id}/", "get"): "firms_retrieve",
    ("/api/v1/firms/import/", "post"): "firms_import",
    ("/api/v1/streets/", "get"): "streets_list",
    ("/api/v1/parks/", "get"): "parks_list",
}


@pytest.fixture
def schema(db, api_for):
    response = api_for(None).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]


def test_schema_describes_every_endpoint_with_a_readable_operation_id(schema):
    found = {
        (path, method): operation["operationId"]
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    assert API_OPERATIONS.items() <= found.items()


def test_lists_are_described_as_pages(schema):
    for path in ("/api/v1/users/", "/api/v1/firms/", "/api/v1/streets/"):
        operation = schema["paths"][path]["get"]
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page_schema = schema["components"]["schemas"][page.rsplit("/", 1)[1]]
        assert set(page_schema["properties"]) == {"count", "next", "previous", "results"}
        assert "page_size" in {parameter["name"] for parameter in operation["parameters"]}


def test_errors_are_described_in_the_contract_shape(schema):
    firms = schema["paths"]["/api/v1/firms/"]["get"]["responses"]
    assert firms["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/FieldErrors")
    assert firms["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/DetailError")


def test_import_takes_a_multipart_file(schema):
    body = schema["paths"]["/api/v1/firms/import/"]["post"]["requestBody"]["content"]
    upload = body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    properties = schema["components"]["schemas"][upload]["properties"]
    assert properties["file"]["format"] == "binary"
    assert {"dry_run", "valid_only"} <= set(properties)


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", tmp_path / "schema.yaml")


def test_docs_page_is_public_and_served_without_any_outside_host(db, api_for):
    response = api_for(None).get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/static/") for asset in assets)
    assert not re.search(r"https?:|//cdn", html)
