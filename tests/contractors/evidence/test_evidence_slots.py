"""One slot per file (issue 15, part 5): identical slot requests, one after the other or at the
same moment, and requests repeating an Idempotency-Key (API.md) make one slot, not several
(ASVS 5.0 V2.3.2: a flow's steps are not duplicated by replaying or racing them)."""

import pytest
from django.db import connection

from contractors.evidence.models import Evidence
from portal.models import AuditEvent
from tests.concurrency import at_once
from tests.contractors.evidence.test_api_evidence import (
    UPLOADS_URL,
    evidence_url,
    jpeg_bytes,
    put_object,
    slot_body,
)
from tests.contractors.evidence.test_evidence import make_inspection


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


def post_slot(api, body, key=None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return api.post(UPLOADS_URL, body, format="json", **headers)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL")
def test_v2_3_two_identical_slot_requests_at_once_yield_one_slot(cast, local_storage, api_for):
    inspection = make_inspection(cast)
    content = jpeg_bytes()
    body = slot_body(content, inspection=inspection)

    for _round in range(3):
        answers = at_once(2, lambda: post_slot(api_for(cast.inspector_a1), body))

        assert [answer.status_code for answer in answers] == [201, 201]
        assert len({answer.json()["id"] for answer in answers}) == 1
        assert Evidence.objects.count() == 1
    put_object(answers[1].json()["upload"], content)
    confirmed = api_for(cast.inspector_a1).post(evidence_url(answers[0].json()["id"], "confirm"))
    assert confirmed.status_code == 200, confirmed.content


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks of PostgreSQL")
def test_v2_3_one_idempotency_key_sent_twice_at_once_yields_one_slot(cast, local_storage, api_for):
    inspection = make_inspection(cast)
    bodies = iter([slot_body(jpeg_bytes(shade), inspection=inspection) for shade in (0, 90)])

    answers = at_once(2, lambda: post_slot(api_for(cast.inspector_a1), next(bodies), "k-1"))

    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert len({answer.json()["id"] for answer in answers}) == 1
    assert Evidence.objects.count() == 1


def test_identical_slot_requests_one_after_the_other_yield_one_slot(cast, storage, api_for):
    api = api_for(cast.inspector_a1)
    content = jpeg_bytes()
    body = slot_body(content, inspection=make_inspection(cast))

    first, second = post_slot(api, body), post_slot(api, body)

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] == second.json()["id"]
    assert Evidence.objects.count() == 1
    put_object(second.json()["upload"], content)
    assert api.post(evidence_url(first.json()["id"], "confirm")).status_code == 200
    again = post_slot(api, body)
    assert (again.status_code, again.json()["id"], again.json()["upload"]) == (
        200,
        first.json()["id"],
        None,
    )
    assert Evidence.objects.count() == 1


def test_the_same_idempotency_key_answers_with_the_first_slot_and_creates_nothing(
    cast, local_storage, api_for
):
    api = api_for(cast.inspector_a1)
    inspection = make_inspection(cast)
    content = jpeg_bytes()
    first = post_slot(api, slot_body(content, inspection=inspection), "upload-7f3a")

    # The answer was lost; the client sends the key again, even with another file's terms.
    replayed = post_slot(api, slot_body(jpeg_bytes(90), inspection=inspection), "upload-7f3a")

    assert (first.status_code, replayed.status_code) == (201, 201)
    assert replayed.json()["id"] == first.json()["id"]
    assert Evidence.objects.count() == 1
    evidence = Evidence.objects.get()
    assert (evidence.size, evidence.sha256) == (len(content), slot_body(content)["sha256"])
    put_object(replayed.json()["upload"], content)
    assert api.post(evidence_url(first.json()["id"], "confirm")).status_code == 200
    after = post_slot(api, slot_body(jpeg_bytes(90), inspection=inspection), "upload-7f3a")
    assert (after.status_code, after.json()["id"], after.json()["upload"]) == (
        200,
        first.json()["id"],
        None,
    )
    assert Evidence.objects.count() == 1
    assert AuditEvent.objects.filter(action="evidence.upload_requested").count() == 2


def test_another_key_or_another_uploader_is_another_request(cast, local_storage, api_for):
    inspection = make_inspection(cast)
    mine = post_slot(
        api_for(cast.inspector_a1), slot_body(jpeg_bytes(), inspection=inspection), "k"
    )
    other_file = post_slot(
        api_for(cast.inspector_a1), slot_body(jpeg_bytes(90), inspection=inspection), "k2"
    )
    colleague = post_slot(
        api_for(cast.inspector_a2), slot_body(jpeg_bytes(), inspection=inspection), "k"
    )

    assert {mine.status_code, other_file.status_code, colleague.status_code} == {201}
    assert len({mine.json()["id"], other_file.json()["id"], colleague.json()["id"]}) == 3
    assert Evidence.objects.count() == 3


def test_an_idempotency_key_too_long_is_refused_on_its_name(cast, local_storage, api_for):
    response = post_slot(
        api_for(cast.inspector_a1),
        slot_body(jpeg_bytes(), inspection=make_inspection(cast)),
        "k" * 129,
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Evidence.objects.exists()
