"""A bounded fuzz of the whole API (issue 15, part 8): every operation of the schema served at
/api/schema/ is called with inputs schemathesis derives from that schema, inside it and outside
it, as a bureau admin and as an agency inspector, on objects that exist and on ones that do not.
Each answer must be no server error (ASVS 5.0 V16.5.1, V16.5.3: a generic answer, failing safely),
of a documented status code and content type (V4.1.1), and of the documented shape (V2.2.1: input
outside the contract is refused in the contract's error shape, not half-accepted).

The run is bounded (a few examples per operation and mode) and deterministic: Hypothesis is
derandomized, so the same tree sends the same requests, and it keeps no example database.
"""

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contractors.evidence.models import Evidence
from tests.contractors.inspections.test_api_inspections import start_inspection
from tests.contractors.inspections.test_inspections import add_evidence
from tests.documents.factories import submitted_inspection

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_MODE = 4
FUZZ_SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES_PER_MODE,
    # The seed is pinned: Hypothesis derives it from the test, so a run never fails by chance.
    derandomize=True,
    database=None,
    deadline=None,
    # Each example is one request through the whole Django stack; a slow one is not a bug here.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    # No shrinking: the first failing request is reported as it was sent, and quickly.
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    print_blob=False,
)


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler in this thread, inside the test's transaction. Django's own test
    client stops a request from closing the connection at its end (`close_old_connections`),
    which would roll the test's transaction back; the plain handler needs the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fresh_throttle():
    """Every operation is fuzzed, the token endpoint too: its failed logins count towards a
    lockout in the database, undone with the test's transaction, but its throttle counts in the
    cache, which would otherwise outlive the test."""
    yield
    cache.clear()


@pytest.fixture
def world(cast):
    """Objects for the path parameters to hit: a submitted inspection with its hazards and
    drafted documents, a draft one, and a confirmed photo."""
    submitted, documents = submitted_inspection(cast)
    draft = start_inspection(cast)
    hazard = submitted.hazards.first()
    evidence = add_evidence(
        submitted, hazard=hazard, purpose=Evidence.Purpose.FINDING, uploader=cast.inspector_a1
    )
    return {
        "firm_id": [cast.firm_a.pk, cast.firm_b.pk],
        "contract_id": [cast.contract_a.pk],
        "inspection_id": [draft.pk, submitted.pk],
        "hazard_id": [hazard.pk],
        "evidence_id": [evidence.pk],
        "document_id": [document.pk for document in documents.values()],
    }


def fuzz(operation, strategy, headers, *, mode):
    """The failures of one operation on one strategy: empty, or its first failing request."""

    @FUZZ_SETTINGS
    @hypothesis.given(case=strategy)
    def run(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.NEGATIVE:
            return []  # nothing to send outside the schema: no parameters, no body
        raise
    # Schemathesis raises its checks' failures as an exception group: collect them all, then fail.
    except (Exception, BaseExceptionGroup) as failure:
        return [f"{operation.label}: {failure}"]
    return []


def known_objects(operation, world):
    """The path parameters of each real object this operation can take (none: it takes none)."""
    names = [parameter.name for parameter in operation.path_parameters]
    if not names or not all(name in world for name in names):
        return []
    count = max(len(world[name]) for name in names)
    return [
        {name: str(world[name][index % len(world[name])]) for name in names}
        for index in range(count)
    ]


@pytest.mark.parametrize("who", ["admin", "inspector_a1"])
def test_fuzzed_api_answers_within_its_schema(cast, world, wsgi_app, fresh_throttle, who):
    token = Token.objects.create(user=getattr(cast, who))
    headers = {"Authorization": f"Token {token.key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app)
    failures = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        # Inside the schema and outside it, on random identifiers (404 expected), then on each
        # real object the operation can take.
        runs = [{"generation_mode": mode} for mode in GenerationMode]
        runs += [
            {"generation_mode": GenerationMode.POSITIVE, "path_parameters": path_parameters}
            for path_parameters in known_objects(operation, world)
        ]
        for run in runs:
            strategy = operation.as_strategy(**run)
            failures += fuzz(operation, strategy, headers, mode=run["generation_mode"])
    assert not failures, "\n\n".join(failures)
