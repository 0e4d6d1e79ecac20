"""Confirmed evidence cannot be replaced (issue 15, ASVS 5.0 V5.3: stored files are kept as
checked). Confirmation copies the upload to a final key that no presigned POST grants,
conditionally on the version that was read, checks the copy and keeps it; the upload's POST,
still valid until the slot expires, can then put anything at the old key without reaching what
is downloaded. On moto's S3 server and on local files."""

import hashlib
import logging
from datetime import timedelta

import pytest
from botocore.exceptions import EndpointConnectionError
from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.evidence.services import (
    EvidenceRejected,
    EvidenceStorageFailed,
    do_confirm_evidence,
    do_issue_evidence_download,
    do_purge_expired_uploads,
)
from portal.models import AuditEvent
from portal.storage import S3Store, evidence_store
from tests.contractors.evidence.test_evidence import (
    fetch,
    make_inspection,
    photo,
    post_upload,
    request_slot,
    stored,
)
from tests.portal.test_storage import precondition_failed


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def draft(cast):
    return make_inspection(cast)


def final_prefix(evidence):
    upload_key = evidence.upload_key or evidence.key
    return f"{upload_key.rpartition('/')[0]}/final/{evidence.pk}/"


def same_size_other_photo(content):
    """Another file of the same size that still sniffs as a JPEG: only its hash tells."""
    return content[:-3] + bytes(255 - b for b in content[-3:])


def expire(evidence):
    Evidence.objects.filter(pk=evidence.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_v5_3_confirmation_moves_the_object_to_a_final_key_and_deletes_the_upload(
    cast, draft, storage
):
    content = photo()
    pending, upload = request_slot(cast.inspector_a1, draft, content)
    upload_key = pending.key
    assert post_upload(upload, content) < 300

    evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=pending)

    evidence.refresh_from_db()
    assert evidence.upload_key == upload_key
    assert evidence.key.startswith(final_prefix(evidence))
    assert evidence.key.endswith(".jpg")
    assert evidence.thumbnail_key == evidence.key + ".thumb.jpg"
    assert not stored(upload_key)
    assert stored(evidence.key) and stored(evidence.thumbnail_key)
    assert b"".join(evidence_store().chunks(evidence.key)) == content
    assert sorted(evidence_store().keys_under(final_prefix(evidence))) == sorted(
        [evidence.key, evidence.thumbnail_key]
    )


def test_v5_3_a_post_to_the_old_upload_key_after_confirmation_changes_nothing_downloaded(
    cast, draft, storage
):
    content = photo()
    pending, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=pending)
    other = same_size_other_photo(content)

    # The presigned POST is still valid: storage takes the other file at the old key.
    assert post_upload(upload, other) < 300

    assert b"".join(evidence_store().chunks(evidence.upload_key)) == other
    status, body, _ = fetch(do_issue_evidence_download(actor=cast.reviewer, evidence=evidence))
    assert status == 200
    assert body == content
    evidence.refresh_from_db()
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert hashlib.sha256(b"".join(evidence_store().chunks(evidence.key))).hexdigest() == (
        evidence.sha256
    )


def test_v5_3_a_replacement_between_the_check_and_the_copy_refuses_the_confirmation(
    cast, draft, storage, monkeypatch
):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    store_class = type(evidence_store())
    promote = store_class.promote

    def replaced_first(store, source, target, *, version):
        # The uploader's second POST lands after the size and version were read. Real S3
        # refuses the copy on its ETag condition; moto ignores the condition and copies the
        # replacement, which the check of the copy then refuses.
        store.put(source, same_size_other_photo(content), "image/jpeg")
        return promote(store, source, target, version=version)

    monkeypatch.setattr(store_class, "promote", replaced_first)

    with pytest.raises(EvidenceRejected):
        do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)

    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert not stored(evidence.key)
    assert evidence_store().keys_under(final_prefix(evidence)) == []
    assert AuditEvent.objects.filter(action="evidence.rejected", target_id=str(evidence.pk))


def test_v5_3_an_s3_refusal_of_the_conditional_copy_refuses_the_confirmation(
    cast, draft, s3, monkeypatch
):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    promote = S3Store.promote

    def as_s3_answers_a_changed_source(store, source, target, *, version):
        # What S3 answers when the source's ETag no longer matches CopySourceIfMatch.
        store.client.meta.events.register("before-send.s3.CopyObject", precondition_failed)
        return promote(store, source, target, version=version)

    monkeypatch.setattr(S3Store, "promote", as_s3_answers_a_changed_source)

    with pytest.raises(EvidenceRejected) as refusal:
        do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)

    assert "被替换" in " ".join(refusal.value.messages)
    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert not stored(evidence.key)
    assert evidence_store().keys_under(final_prefix(evidence)) == []


def test_storage_failing_during_the_copy_leaves_the_slot_to_confirm_again(
    cast, draft, storage, monkeypatch, caplog
):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    store_class = type(evidence_store())
    promote = store_class.promote

    def unreachable(store, source, target, *, version):
        raise EndpointConnectionError(endpoint_url="storage")

    monkeypatch.setattr(store_class, "promote", unreachable)

    with caplog.at_level(logging.ERROR, logger="contractors.evidence"):
        with pytest.raises(EvidenceStorageFailed):
            do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)

    assert "storage failed" in caplog.text
    evidence.refresh_from_db()
    assert evidence.status == Evidence.Status.PENDING
    assert stored(evidence.key)
    assert evidence_store().keys_under(final_prefix(evidence)) == []
    assert not AuditEvent.objects.filter(
        target_id=str(evidence.pk), action__in=("evidence.confirmed", "evidence.rejected")
    )
    monkeypatch.setattr(store_class, "promote", promote)
    assert do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence).status == "confirmed"


def test_a_failed_delete_of_the_upload_key_is_logged_and_left_to_the_purge(
    cast, draft, storage, monkeypatch, caplog
):
    content = photo()
    pending, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    store_class = type(evidence_store())
    delete = store_class.delete

    def failing_for_the_upload(store, key):
        if key == pending.key:
            raise EndpointConnectionError(endpoint_url="storage")
        return delete(store, key)

    monkeypatch.setattr(store_class, "delete", failing_for_the_upload)
    with caplog.at_level(logging.WARNING, logger="contractors.evidence"):
        evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=pending)
    monkeypatch.setattr(store_class, "delete", delete)

    assert evidence.status == Evidence.Status.CONFIRMED
    assert "left for purge_uploads" in caplog.text
    assert stored(evidence.upload_key)
    assert do_purge_expired_uploads() == 0
    assert stored(evidence.upload_key), "the slot is still in time: its POST may come again"
    expire(evidence)

    assert do_purge_expired_uploads() == 0

    assert not stored(pending.key)
    evidence.refresh_from_db()
    assert evidence.upload_key == ""
    assert stored(evidence.key) and stored(evidence.thumbnail_key)
    status, body, _ = fetch(do_issue_evidence_download(actor=cast.reviewer, evidence=evidence))
    assert (status, body) == (200, content)


def test_the_purge_clears_what_a_late_post_put_at_the_old_key(cast, draft, storage):
    content = photo()
    pending, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=pending)
    assert post_upload(upload, same_size_other_photo(content)) < 300
    expire(evidence)

    do_purge_expired_uploads()

    assert not stored(pending.key)
    assert stored(evidence.key)
    assert Evidence.objects.get(pk=evidence.pk).upload_key == ""


def test_the_purge_takes_an_interrupted_confirmations_copy_with_its_expired_slot(
    cast, draft, storage
):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    # A confirmation that copied the object and died before it could accept or undo it.
    left = final_prefix(evidence) + "0123456789abcdef.jpg"
    evidence_store().put(left, content, "image/jpeg")
    expire(evidence)

    assert do_purge_expired_uploads() == 1

    assert not stored(evidence.key) and not stored(left)


def test_a_second_attempt_on_a_confirmed_upload_leaves_one_copy(cast, draft, storage):
    content = photo()
    pending, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    stale = Evidence.objects.get(pk=pending.pk)
    evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=pending)
    # Another confirmation of the same upload that read the row while it was still pending,
    # and a late POST that put the file at the old key again.
    assert post_upload(upload, content) < 300

    again = do_confirm_evidence(actor=cast.inspector_a1, evidence=stale)

    assert again.pk == evidence.pk and again.key == evidence.key
    assert sorted(evidence_store().keys_under(final_prefix(evidence))) == sorted(
        [evidence.key, evidence.thumbnail_key]
    )
    assert AuditEvent.objects.filter(action="evidence.confirmed").count() == 1


def test_evidence_confirmed_before_final_keys_keeps_its_object_and_downloads(cast, draft, storage):
    """Rows confirmed before this change have their object at the upload key and no
    `upload_key` (the migration's default): they download as before and the purge leaves
    their object alone."""
    content = photo()
    legacy, _ = request_slot(cast.inspector_a1, draft, content)
    evidence_store().put(legacy.key, content, "image/jpeg")
    Evidence.objects.filter(pk=legacy.pk).update(
        status=Evidence.Status.CONFIRMED,
        confirmed_at=timezone.now(),
        expires_at=timezone.now() - timedelta(days=30),
    )
    legacy.refresh_from_db()

    assert do_purge_expired_uploads() == 0

    assert stored(legacy.key)
    status, body, _ = fetch(do_issue_evidence_download(actor=cast.reviewer, evidence=legacy))
    assert (status, body) == (200, content)


def test_v5_3_the_confirm_api_answers_503_when_storage_fails_and_200_on_retry(
    cast, storage, api_for, monkeypatch
):
    from tests.contractors.evidence.test_api_evidence import (
        UPLOADS_URL,
        evidence_url,
        jpeg_bytes,
        put_object,
        slot_body,
    )

    api = api_for(cast.inspector_a1)
    content = jpeg_bytes()
    slot = api.post(UPLOADS_URL, slot_body(content, inspection=make_inspection(cast)), "json")
    put_object(slot.json()["upload"], content)
    store_class = type(evidence_store())
    promote = store_class.promote

    def unreachable(store, source, target, *, version):
        raise EndpointConnectionError(endpoint_url="storage")

    monkeypatch.setattr(store_class, "promote", unreachable)
    failed = api.post(evidence_url(slot.json()["id"], "confirm"))
    monkeypatch.setattr(store_class, "promote", promote)
    retried = api.post(evidence_url(slot.json()["id"], "confirm"))

    assert failed.status_code == 503
    assert "存储" in failed.json()["detail"]
    assert retried.status_code == 200, retried.content
    assert retried.json()["status"] == "confirmed"


def test_storage_failing_while_a_refused_upload_is_deleted_keeps_the_slot_for_the_purge(
    cast, draft, storage, monkeypatch
):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content, sha256="ab" * 32)
    assert post_upload(upload, content) < 300
    store_class = type(evidence_store())
    delete = store_class.delete

    def failing_for_the_upload(store, key):
        if key == evidence.key:
            raise EndpointConnectionError(endpoint_url="storage")
        return delete(store, key)

    monkeypatch.setattr(store_class, "delete", failing_for_the_upload)
    with pytest.raises(EvidenceStorageFailed):
        do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)
    monkeypatch.setattr(store_class, "delete", delete)

    assert Evidence.objects.get(pk=evidence.pk).status == Evidence.Status.PENDING
    assert evidence_store().keys_under(final_prefix(evidence)) == []
    expire(evidence)
    assert do_purge_expired_uploads() == 1
    assert not stored(evidence.key)
