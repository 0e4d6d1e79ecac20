"""`purge_uploads`: upload slots never confirmed in time go, with whatever reached storage for
them; confirmed evidence and slots still in time stay. Running it again changes nothing."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from contractors.evidence.models import Evidence
from contractors.evidence.services import do_purge_expired_uploads
from portal.models import AuditEvent
from portal.storage import evidence_store
from tests.contractors.evidence.test_evidence import (
    make_inspection,
    photo,
    post_upload,
    request_slot,
    stored,
    upload_and_confirm,
)


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


def expire(evidence):
    Evidence.objects.filter(pk=evidence.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_expired_slots_go_with_their_objects_and_the_rest_stays(cast, storage):
    inspection = make_inspection(cast)
    uploaded = photo(taken="2021:03:15 10:00:00")
    expired_uploaded, upload = request_slot(cast.inspector_a1, inspection, uploaded)
    assert post_upload(upload, uploaded) < 300
    expired_empty, _ = request_slot(cast.inspector_a1, inspection, photo(gps=False))
    in_time, _ = request_slot(cast.inspector_a2, inspection, photo(taken=None))
    confirmed = upload_and_confirm(cast.inspector_a1, inspection, photo(size=(64, 48)))
    expire(expired_uploaded)
    expire(expired_empty)
    expire(confirmed)

    assert do_purge_expired_uploads() == 2

    assert set(Evidence.objects.all()) == {in_time, confirmed}
    assert not stored(expired_uploaded.key)
    assert stored(confirmed.key) and stored(confirmed.thumbnail_key)
    assert set(
        AuditEvent.objects.filter(action="evidence.expired").values_list("target_id", flat=True)
    ) == {str(expired_uploaded.pk), str(expired_empty.pk)}
    assert do_purge_expired_uploads() == 0


def test_the_command_reports_what_it_removed_and_can_run_again(cast, local_storage):
    evidence, _ = request_slot(cast.inspector_a1, make_inspection(cast), photo())
    expire(evidence)

    first, second = io.StringIO(), io.StringIO()
    call_command("purge_uploads", stdout=first)
    call_command("purge_uploads", stdout=second)

    assert "已删除过期未确认的上传 1 个" in first.getvalue()
    assert "已删除过期未确认的上传 0 个" in second.getvalue()
    assert not Evidence.objects.exists()
    assert evidence_store().size_of(evidence.key) is None
