"""The proof of tenancy (issue 3): every URL of the project, as every member of the cast.

The URLs come from the root resolver, so a new page or API endpoint is swept without anyone
adding it here. Objects in URLs are tenant A's; the other agency, the other firm and the
outsider must get 404 for them, exactly as for an object that does not exist.
"""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from contractors.checklists.services import do_install_default_checklist
from contractors.evidence.models import Evidence
from contractors.hazards.models import HazardCategory, HazardLevel
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_start_inspection
from contractors.register.services import do_preview_register_import
from documents.drafting.services import current_template
from documents.models import DocType
from portal.second_factor.selectors import token_public_id
from portal.services import do_issue_api_token
from tests.documents.factories import signed_order

# The views anyone may open without logging in, by URL name. Nothing else is public. The two
# local-storage endpoints stand in for S3's presigned URLs: their signed token or policy is the
# authorisation, so they carry no session and no object keyword of ours. The health check is
# for load balancers: it shows each check's state and nothing of any tenant.
PUBLIC = {
    "healthz",
    "login",
    "logout",
    "api-schema",
    "api-docs",
    "api-token",
    "local-upload",
    "local-download",
}

# The namespaces left out of the sweep: Django's own admin site guards itself.
SKIPPED_NAMESPACES = {"admin"}

OWN_SIDE = ["admin", "reviewer", "manager_a", "inspector_a1", "inspector_a2", "firm_user_a"]
OTHER_SIDE = ["manager_b", "inspector_b1", "inspector_b2", "firm_user_b", "outsider"]
METHODS = ["get", "post"]


@dataclass(frozen=True)
class Endpoint:
    name: str
    route: str
    keywords: frozenset

    @property
    def is_api(self):
        return self.route.startswith("api/")


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        keywords = set(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            if entry.namespace in SKIPPED_NAMESPACES:
                continue
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            for endpoint in _walk(entry.url_patterns, route, inner):
                yield Endpoint(endpoint.name, endpoint.route, endpoint.keywords | keywords)
        else:
            # PUBLIC and the test ids go by name, so an unnamed URL would slip through.
            assert entry.name, f"URL {route!r} has no name: name it so the sweep can report it"
            yield Endpoint(f"{namespace}{entry.name}", route, frozenset(keywords))


ENDPOINTS = sorted(_walk(get_resolver().url_patterns), key=lambda endpoint: endpoint.name)
OBJECT_ENDPOINTS = [
    endpoint for endpoint in ENDPOINTS if endpoint.keywords and endpoint.name not in PUBLIC
]
PLAIN_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if not endpoint.keywords]
PROTECTED_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if endpoint.name not in PUBLIC]


def _sweep(endpoints):
    return pytest.mark.parametrize("endpoint", endpoints, ids=lambda endpoint: endpoint.name)


def _register_import(cast):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["统一社会信用代码", "企业名称", "所属街道"],
            [cast.firm_a.uscc, cast.firm_a.name, "长寿路街道"],
        ]
    )
    return do_preview_register_import(
        actor=cast.admin,
        bureau=cast.bureau,
        filename="r.csv",
        content=buffer.getvalue().encode(),
    )


def _draft_inspection(cast):
    do_install_default_checklist(actor=None, bureau=cast.bureau)
    return do_start_inspection(
        actor=cast.inspector_a1,
        firm=cast.firm_a,
        kind=Inspection.Kind.ROUTINE,
        inspected_on=timezone.localdate(),
        inspectors=[cast.inspector_a1, cast.inspector_a2],
        firm_representative="张安全",
    )


def _hazard(cast):
    return do_record_hazard(
        actor=cast.inspector_a1,
        inspection=_draft_inspection(cast),
        category=HazardCategory.FIRE,
        level=HazardLevel.GENERAL,
        description="安全出口被堵塞",
        deadline=timezone.localdate() + timedelta(days=7),
    )


def _evidence(cast):
    hazard = _hazard(cast)
    return Evidence.objects.create(
        bureau=cast.bureau,
        inspection=hazard.inspection,
        hazard=hazard,
        status=Evidence.Status.CONFIRMED,
        key=f"bureau/{cast.bureau.pk}/agency/{cast.agency_a.pk}/inspection/"
        f"{hazard.inspection_id}/{uuid.uuid4()}.jpg",
        filename="现场.jpg",
        content_type="image/jpeg",
        size=4,
        sha256="0" * 64,
        uploaded_by=cast.inspector_a1,
        expires_at=timezone.now() + timedelta(minutes=15),
        confirmed_at=timezone.now(),
    )


# Tenant A's object for each URL keyword. A keyword missing here fails the sweep of its URL.
OBJECTS = {
    "firm_id": lambda cast: cast.firm_a.pk,
    "contract_id": lambda cast: cast.contract_a.pk,
    "import_id": lambda cast: _register_import(cast).pk,
    "inspection_id": lambda cast: _draft_inspection(cast).pk,
    "hazard_id": lambda cast: _hazard(cast).pk,
    "evidence_id": lambda cast: _evidence(cast).pk,
    # Signed, so that the firm's side and the downloads have something to reach.
    "document_id": lambda cast: signed_order(cast, hazards=1).pk,
    "fmt": lambda cast: "docx",
    # Templates are the bureau's own: no agency or firm may reach them.
    "template_id": lambda cast: (
        current_template(bureau=cast.bureau, doc_type=DocType.RECTIFICATION_ORDER).pk
    ),
    # A member of the bureau whose second factor its admin may reset; nobody else reaches it.
    "member_id": lambda cast: cast.manager_a.pk,
    # The admin's own API token, by its public id: only its owner reaches it.
    "token_id": lambda cast: token_public_id(do_issue_api_token(actor=cast.admin)),
}


def url_of(endpoint, cast):
    unknown = endpoint.keywords - OBJECTS.keys()
    assert not unknown, (
        f"{endpoint.name} ({endpoint.route}) takes {sorted(unknown)}: add tenant A's object "
        f"for it to OBJECTS in tests/test_sweep.py"
    )
    url = reverse(endpoint.name, kwargs={k: OBJECTS[k](cast) for k in endpoint.keywords})
    assert resolve(url).view_name == endpoint.name, f"{url} is shadowed by another URL"
    return url


def request(client, method, endpoint, url):
    if method == "post" and endpoint.is_api:
        return client.post(url, data="{}", content_type="application/json")
    return getattr(client, method)(url)


def body_of(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def tenant_a_strings(cast):
    return [str(cast.firm_a.id), cast.firm_a.uscc, cast.firm_a.name, str(cast.contract_a.id)]


def refused_to_everyone(client_for, cast, endpoint, url, method):
    """True when the URL does not take this method at all: a 405 then says nothing about who
    is asking or about the object."""
    return request(client_for(cast.admin), method, endpoint, url).status_code == 405


def test_the_sweep_reaches_the_pages_and_the_api():
    names = [endpoint.name for endpoint in ENDPOINTS]
    assert len(names) == len(set(names)), "two URLs share a name; the sweep reports by name"
    assert {"home", "contractors:firm_detail", "api-firms", "api-firm"} <= set(names)
    assert not any(name.startswith("admin:") for name in names)
    assert PUBLIC <= set(names), "PUBLIC names a URL that does not exist"


def test_the_signed_local_endpoints_refuse_a_forged_token_or_policy(client, db):
    forged_link = reverse("local-download", kwargs={"token": "forged"})
    assert client.get(forged_link).status_code in {403, 404}
    forged = {"key": "bureau/x/evil.jpg", "policy": "e30", "signature": "0" * 64}
    assert client.post(reverse("local-upload"), forged).status_code in {400, 403}


@_sweep(PROTECTED_ENDPOINTS)
@pytest.mark.parametrize("method", METHODS)
def test_anonymous_users_are_sent_to_login_or_get_401(client_for, cast, endpoint, method):
    url = url_of(endpoint, cast)
    response = request(client_for(None), method, endpoint, url)
    if endpoint.is_api:
        assert response.status_code == 401
    elif response.status_code != 405 or not refused_to_everyone(
        client_for, cast, endpoint, url, method
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL) + "?next=")


@_sweep(OBJECT_ENDPOINTS)
def test_other_tenants_get_404_for_tenant_a_objects(client_for, cast, endpoint):
    url = url_of(endpoint, cast)
    forbidden = tenant_a_strings(cast)
    for method in METHODS:
        refused = refused_to_everyone(client_for, cast, endpoint, url, method)
        for member in OTHER_SIDE:
            response = request(client_for(getattr(cast, member)), method, endpoint, url)
            allowed = {404, 405} if refused else {404}
            assert response.status_code in allowed, (member, method.upper(), url)
            body = body_of(response)
            assert not [s for s in forbidden if s in body], (member, method.upper(), url)


@_sweep(OBJECT_ENDPOINTS)
def test_tenant_a_reaches_its_objects(client_for, cast, endpoint):
    url = url_of(endpoint, cast)
    admin = client_for(cast.admin)
    assert request(admin, "get", endpoint, url).status_code in {200, 302, 405}, url
    assert request(admin, "post", endpoint, url).status_code != 404, url
    for member in OWN_SIDE:
        for method in METHODS:
            response = request(client_for(getattr(cast, member)), method, endpoint, url)
            assert response.status_code < 500, (member, method.upper(), url)


@_sweep(PLAIN_ENDPOINTS)
def test_lists_and_forms_answer_everyone_and_show_other_tenants_nothing_of_a(
    client_for, cast, endpoint
):
    url = url_of(endpoint, cast)
    forbidden = tenant_a_strings(cast)
    for method in METHODS:
        for member in OWN_SIDE:
            response = request(client_for(getattr(cast, member)), method, endpoint, url)
            assert response.status_code < 500, (member, method.upper(), url)
        for member in OTHER_SIDE:
            response = request(client_for(getattr(cast, member)), method, endpoint, url)
            assert response.status_code < 500, (member, method.upper(), url)
            body = body_of(response)
            assert not [s for s in forbidden if s in body], (member, method.upper(), url)
