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
    ("/api/v1/contracts/", "get"): "contracts_list",
    ("/api/v1/contracts/", "post"): "contracts_create",
    ("/api/v1/contracts/{contract_id}/", "get"): "contracts_retrieve",
    ("/api/v1/contracts/{contract_id}/assign/", "post"): "contracts_assign",
    ("/api/v1/contracts/{contract_id}/unassign/", "post"): "contracts_unassign",
    ("/api/v1/inspections/", "get"): "inspections_list",
    ("/api/v1/inspections/", "post"): "inspections_create",
    ("/api/v1/inspections/{inspection_id}/", "get"): "inspections_retrieve",
    ("/api/v1/inspections/{inspection_id}/", "patch"): "inspections_partial_update",
    ("/api/v1/inspections/{inspection_id}/answers/", "post"): "inspections_answer",
    ("/api/v1/inspections/{inspection_id}/hazards/", "post"): "inspections_hazards_create",
    ("/api/v1/inspections/{inspection_id}/submit/", "post"): "inspections_submit",
    ("/api/v1/hazards/", "get"): "hazards_list",
    ("/api/v1/hazards/{hazard_id}/", "get"): "hazards_retrieve",
    ("/api/v1/hazards/{hazard_id}/", "patch"): "hazards_partial_update",
    ("/api/v1/hazards/{hazard_id}/rectify/", "post"): "hazards_rectify",
    ("/api/v1/hazards/{hazard_id}/reinspect/", "post"): "hazards_reinspect",
    ("/api/v1/evidence/uploads/", "post"): "evidence_uploads_create",
    ("/api/v1/evidence/{evidence_id}/", "get"): "evidence_retrieve",
    ("/api/v1/evidence/{evidence_id}/confirm/", "post"): "evidence_confirm",
    ("/api/v1/evidence/{evidence_id}/download/", "get"): "evidence_download",
    ("/healthz", "get"): "healthz",
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


def test_health_is_described_without_login_with_its_503(schema):
    operation = schema["paths"]["/healthz"]["get"]
    assert operation.get("security", []) in ([], [{}])  # no login
    assert {"200", "503"} <= set(operation["responses"])


def test_lists_are_described_as_pages(schema):
    for path in (
        "/api/v1/users/",
        "/api/v1/firms/",
        "/api/v1/streets/",
        "/api/v1/contracts/",
        "/api/v1/inspections/",
        "/api/v1/hazards/",
    ):
        operation = schema["paths"][path]["get"]
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        page_schema = schema["components"]["schemas"][page.rsplit("/", 1)[1]]
        assert set(page_schema["properties"]) == {"count", "next", "previous", "results"}
        assert "page_size" in {parameter["name"] for parameter in operation["parameters"]}


def test_errors_are_described_in_the_contract_shape(schema):
    firms = schema["paths"]["/api/v1/firms/"]["get"]["responses"]
    assert firms["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/FieldErrors")
    assert firms["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/DetailError")


def component(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_a_firms_agency_is_described_as_optional_because_firm_users_never_get_it(schema):
    response = schema["paths"]["/api/v1/firms/{firm_id}/"]["get"]["responses"]["200"]
    firm = component(schema, response["content"]["application/json"]["schema"]["$ref"])
    assert firm["properties"]["agency"]["format"] == "uuid"
    assert firm["properties"]["agency"]["nullable"] is True
    assert "agency" not in firm["required"]
    filters = schema["paths"]["/api/v1/firms/"]["get"]["parameters"]
    assert "agency" in {parameter["name"] for parameter in filters}


def test_contracts_are_described_with_their_fields_and_outcomes(schema):
    created = schema["paths"]["/api/v1/contracts/"]["post"]["responses"]["201"]
    contract = component(schema, created["content"]["application/json"]["schema"]["$ref"])
    assert set(contract["properties"]) == {
        "id",
        "agency",
        "agency_name",
        "number",
        "period_start",
        "period_end",
        "quota",
        "note",
        "assigned",
    }
    assign = schema["paths"]["/api/v1/contracts/{contract_id}/assign/"]["post"]
    body = component(schema, assign["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert {"firms", "street", "grid", "park", "key_category", "codes", "allow_over_quota"} == set(
        body["properties"]
    )
    refused = assign["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert set(component(schema, refused)["properties"]) == {
        "detail",
        "quota",
        "current",
        "adding",
        "after",
    }
    assert {"200", "400", "401", "403", "404", "409"} == set(assign["responses"])


def response_component(schema, path, method, code):
    response = schema["paths"][path][method]["responses"][code]
    return component(schema, response["content"]["application/json"]["schema"]["$ref"])


def request_component(schema, path, method):
    body = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    return component(schema, body["schema"]["$ref"])


def test_an_inspection_is_described_with_its_states_and_its_checklist(schema):
    detail = response_component(schema, "/api/v1/inspections/{inspection_id}/", "get", "200")
    statuses = component(schema, detail["properties"]["status"]["allOf"][0]["$ref"])
    assert statuses["enum"] == ["draft", "submitted", "returned", "accepted"]
    entry = component(schema, detail["properties"]["checklist"]["items"]["$ref"])
    assert {"id", "position", "category", "text", "legal_basis", "requirement", "answer"} <= set(
        entry["properties"]
    )
    assert {"note", "hazard"} <= set(entry["properties"])
    started = request_component(schema, "/api/v1/inspections/", "post")
    assert {"firm", "kind", "inspected_on", "inspectors", "firm_representative"} <= set(
        started["required"]
    )
    assert {"latitude", "longitude", "time_from", "time_to", "place"} <= set(started["properties"])
    submit = schema["paths"]["/api/v1/inspections/{inspection_id}/submit/"]["post"]
    assert {"200", "400", "401", "403", "404", "409"} == set(submit["responses"])


def test_a_hazard_is_described_with_its_states_and_transitions(schema):
    created = response_component(
        schema, "/api/v1/inspections/{inspection_id}/hazards/", "post", "201"
    )
    statuses = component(schema, created["properties"]["status"]["allOf"][0]["$ref"])
    assert statuses["enum"] == ["open", "rectified", "verified", "overdue"]
    recorded = request_component(schema, "/api/v1/inspections/{inspection_id}/hazards/", "post")
    assert {"category", "level", "description", "deadline"} <= set(recorded["required"])
    reinspect = request_component(schema, "/api/v1/hazards/{hazard_id}/reinspect/", "post")
    assert {"passed", "note", "evidence", "deadline"} == set(reinspect["properties"])
    rectify = request_component(schema, "/api/v1/hazards/{hazard_id}/rectify/", "post")
    assert {"note", "evidence"} == set(rectify["properties"])
    for path in ("/api/v1/hazards/{hazard_id}/rectify/", "/api/v1/hazards/{hazard_id}/reinspect/"):
        assert "409" in schema["paths"][path]["post"]["responses"]


def test_evidence_uploads_are_described_as_a_slot_to_post_to(schema):
    slot = response_component(schema, "/api/v1/evidence/uploads/", "post", "201")
    assert {"id", "upload", "expires_at"} <= set(slot["properties"])
    asked = request_component(schema, "/api/v1/evidence/uploads/", "post")
    assert {"filename", "content_type", "size", "sha256"} <= set(asked["required"])
    assert {"inspection", "hazard", "purpose"} <= set(asked["properties"])
    confirmed = response_component(schema, "/api/v1/evidence/{evidence_id}/confirm/", "post", "200")
    assert {"id", "status", "sha256", "size"} <= set(confirmed["properties"])
    download = schema["paths"]["/api/v1/evidence/{evidence_id}/download/"]["get"]
    assert "302" in download["responses"]


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
