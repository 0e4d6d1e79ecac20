"""Evidence through the services (issue 4), on moto's S3 server and on local files: a slot, the
upload straight to storage, and the confirm step, which is the real guard: every way an upload
can be wrong must leave no object and no row."""

import hashlib
import io
import logging
import socket
import subprocess
import sys
import time
import tracemalloc
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from contractors.checklists.models import Checklist
from contractors.evidence.models import Evidence
from contractors.evidence.services import (
    EvidenceRejected,
    do_confirm_evidence,
    do_issue_evidence_download,
    do_request_evidence_upload,
)
from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.inspections.models import Inspection
from portal.models import AuditEvent
from portal.storage import evidence_store
from tests.conftest import use_s3

SHANGHAI = ZoneInfo("Asia/Shanghai")
EXIF_IFD, GPS_IFD, DATETIME_ORIGINAL = 0x8769, 0x8825, 0x9003


# --- Helpers the other evidence tests share ------------------------------------------------------


def make_inspection(cast, *, status=Inspection.Status.DRAFT):
    """Agency A's inspection of firm A, built straight from the models so that these tests do
    not depend on the inspection services."""
    checklist, _ = Checklist.objects.get_or_create(
        bureau=cast.bureau, name="测试检查表", version=1, defaults={"is_current": True}
    )
    inspection = Inspection.objects.create(
        bureau=cast.bureau,
        firm=cast.firm_a,
        agency=cast.agency_a,
        contract=cast.contract_a,
        checklist=checklist,
        kind=Inspection.Kind.ROUTINE,
        status=status,
        inspected_on=date(2021, 3, 15),
        firm_representative="张安全",
        created_by=cast.inspector_a1,
        submitted_at=None if status == Inspection.Status.DRAFT else timezone.now(),
    )
    inspection.inspectors.add(cast.inspector_a1, cast.inspector_a2)
    return inspection


def make_hazard(inspection, *, status=Hazard.Status.OPEN):
    return Hazard.objects.create(
        inspection=inspection,
        firm=inspection.firm,
        category=HazardCategory.FIRE,
        level=HazardLevel.GENERAL,
        description="安全出口被杂物堵塞",
        deadline=date(2021, 4, 15),
        status=status,
    )


def photo(*, size=(1200, 800), taken="2021:03:15 09:41:05", gps=True, fmt="JPEG"):
    """A photo as a phone takes it: EXIF time, and GPS as degrees/minutes/seconds + reference."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    if taken:
        exif.get_ifd(EXIF_IFD)[DATETIME_ORIGINAL] = taken
    if gps:
        position = exif.get_ifd(GPS_IFD)
        position[1], position[2] = "N", (31.0, 14.0, 24.0)
        position[3], position[4] = "E", (121.0, 23.0, 42.0)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif)
    return out.getvalue()


def request_slot(actor, inspection, content, *, hazard=None, purpose=None, **declared):
    fields = {
        "filename": "现场照片.jpg",
        "content_type": "image/jpeg",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        **declared,
    }
    return do_request_evidence_upload(
        actor=actor,
        inspection=inspection,
        hazard=hazard,
        purpose=purpose or Evidence.Purpose.FINDING,
        **fields,
    )


def post_upload(upload, content, content_type="image/jpeg"):
    """POST the file as the browser does: over HTTP to S3 (moto), or to the app's endpoint.
    The response status."""
    if upload["url"].startswith("http"):
        return requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": ("upload", content, content_type)},
            timeout=30,
        ).status_code
    return (
        Client()
        .post(
            upload["url"],
            {**upload["fields"], "file": SimpleUploadedFile("upload", content, content_type)},
        )
        .status_code
    )


def upload_and_confirm(actor, inspection, content, **slot):
    evidence, upload = request_slot(actor, inspection, content, **slot)
    assert post_upload(upload, content, slot.get("content_type", "image/jpeg")) < 300
    return do_confirm_evidence(actor=actor, evidence=evidence)


def stored(key):
    return evidence_store().size_of(key) is not None


def fetch(url):
    """(status, body, Content-Disposition) of a download URL, presigned S3 or the app's own."""
    if url.startswith("http"):
        response = requests.get(url, timeout=30)
        return response.status_code, response.content, response.headers.get("Content-Disposition")
    response = Client().get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, response.get("Content-Disposition")


@pytest.fixture(params=["local_storage", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


@pytest.fixture
def draft(cast):
    return make_inspection(cast)


# --- The happy path -----------------------------------------------------------------------------


def test_a_photo_goes_from_slot_to_storage_to_confirmed_with_its_exif_and_a_thumbnail(
    cast, draft, storage
):
    content = photo()

    evidence, upload = request_slot(cast.inspector_a1, draft, content)

    assert evidence.status == Evidence.Status.PENDING
    assert evidence.key.startswith(
        f"bureau/{cast.bureau.pk}/agency/{cast.agency_a.pk}/inspection/{draft.pk}/"
    )
    assert evidence.key.endswith(".jpg")
    assert set(upload) == {"url", "fields"}
    assert post_upload(upload, content) < 300

    evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)

    evidence.refresh_from_db()
    assert evidence.status == Evidence.Status.CONFIRMED
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.size == len(content)
    assert evidence.taken_at == datetime(2021, 3, 15, 9, 41, 5, tzinfo=SHANGHAI)
    assert evidence.taken_latitude == Decimal("31.240000")
    assert evidence.taken_longitude == Decimal("121.395000")
    assert evidence.thumbnail_key == evidence.key + ".thumb.jpg"
    assert AuditEvent.objects.filter(
        action="evidence.confirmed", actor=cast.inspector_a1, target_id=str(evidence.pk)
    ).exists()


def test_the_thumbnail_is_a_jpeg_480_pixels_on_its_longest_side(cast, draft, storage):
    evidence = upload_and_confirm(
        cast.inspector_a1,
        draft,
        photo(size=(900, 1600), fmt="PNG", gps=False),
        filename="配电箱.png",
        content_type="image/png",
    )

    status, body, _ = fetch(
        do_issue_evidence_download(actor=cast.inspector_a1, evidence=evidence, thumbnail=True)
    )

    assert status == 200
    thumbnail = Image.open(io.BytesIO(body))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (270, 480)


def test_southern_and_western_positions_are_negative(cast, draft, local_storage):
    image = Image.new("RGB", (40, 30))
    exif = Image.Exif()
    position = exif.get_ifd(GPS_IFD)
    position[1], position[2] = "S", (33.0, 52.0, 4.0)
    position[3], position[4] = "W", (151.0, 12.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)

    evidence = upload_and_confirm(cast.inspector_a1, draft, out.getvalue())

    assert evidence.taken_latitude == Decimal("-33.867778")
    assert evidence.taken_longitude == Decimal("-151.210000")
    assert evidence.taken_at is None


def test_a_pdf_is_confirmed_without_photo_facts(cast, draft, storage):
    content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n%%EOF\n"

    evidence = upload_and_confirm(
        cast.inspector_a1,
        draft,
        content,
        filename="检测报告.pdf",
        content_type="application/pdf",
    )

    assert evidence.status == Evidence.Status.CONFIRMED
    assert evidence.key.endswith(".pdf")
    assert (evidence.taken_at, evidence.thumbnail_key) == (None, "")


def test_an_undecodable_photo_that_sniffs_right_is_kept_without_facts(cast, draft, storage, caplog):
    content = b"\xff\xd8\xff\xe0" + b"\x00garbage, not a real JPEG" * 40

    with caplog.at_level(logging.WARNING, logger="contractors.evidence"):
        evidence = upload_and_confirm(cast.inspector_a1, draft, content)

    assert evidence.status == Evidence.Status.CONFIRMED
    assert (evidence.taken_at, evidence.taken_latitude, evidence.thumbnail_key) == (None, None, "")
    assert stored(evidence.key)
    assert "not decodable" in caplog.text


def test_a_download_is_audited_and_the_short_lived_url_works(cast, draft, storage):
    content = photo()
    evidence = upload_and_confirm(
        cast.inspector_a1, draft, content, filename='C:\\fakepath\\a"b\r\n现场照片.jpg'
    )

    url = do_issue_evidence_download(actor=cast.reviewer, evidence=evidence)

    status, body, disposition = fetch(url)
    assert status == 200
    assert body == content
    assert disposition == (
        'attachment; filename="ab.jpg"; '
        "filename*=UTF-8''ab%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg"
    )
    assert AuditEvent.objects.filter(
        action="evidence.downloaded", actor=cast.reviewer, target_id=str(evidence.pk)
    ).exists()


# --- Refusals at confirm: nothing left behind ---------------------------------------------------


def assert_refused(actor, evidence, reason):
    with pytest.raises(EvidenceRejected) as refusal:
        do_confirm_evidence(actor=actor, evidence=evidence)
    assert reason in " ".join(refusal.value.messages)
    assert not Evidence.objects.filter(pk=evidence.pk).exists()
    assert not stored(evidence.key)
    assert AuditEvent.objects.filter(action="evidence.rejected", target_id=str(evidence.pk))


@pytest.mark.parametrize(
    "content",
    [b"MZ\x90\x00\x03" + bytes(2000), b"\x7fELF\x02\x01\x01" + bytes(2000)],
    ids=["windows-exe", "elf"],
)
def test_an_executable_renamed_jpg_is_refused_and_gone(cast, draft, storage, content):
    evidence, upload = request_slot(cast.inspector_a1, draft, content, filename="photo.jpg")
    assert post_upload(upload, content) < 300

    assert_refused(cast.inspector_a1, evidence, "不是允许的类型")


def test_a_png_declared_as_jpeg_is_refused(cast, draft, storage):
    content = photo(fmt="PNG")
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300

    assert_refused(cast.inspector_a1, evidence, "与声明的 image/jpeg 不符")


def test_a_declared_size_smaller_than_the_object_is_refused(cast, draft, storage):
    content = photo()
    evidence, _ = request_slot(cast.inspector_a1, draft, content, size=len(content) - 10)
    # The local endpoint (and real S3) refuse the POST itself; moto and lax S3 servers let it
    # through, so the object gets there and the confirm step has to catch it.
    evidence_store().put(evidence.key, content, "image/jpeg")

    assert_refused(cast.inspector_a1, evidence, "文件大小与声明不符")


def test_moto_lets_a_larger_object_through_and_confirm_catches_it(cast, draft, s3):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content, size=len(content) - 10)
    assert post_upload(upload, content) < 300

    assert_refused(cast.inspector_a1, evidence, "文件大小与声明不符")


def test_a_wrong_hash_is_refused(cast, draft, storage):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content, sha256="ab" * 32)
    assert post_upload(upload, content) < 300

    assert_refused(cast.inspector_a1, evidence, "SHA-256")


def test_an_expired_slot_is_refused(cast, draft, storage, settings, monkeypatch):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    later = timezone.now() + timedelta(seconds=settings.UPLOAD_SLOT_SECONDS + 1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert_refused(cast.inspector_a1, evidence, "上传时限已过")


def test_a_missing_object_is_refused(cast, draft, storage):
    evidence, _ = request_slot(cast.inspector_a1, draft, photo())

    assert_refused(cast.inspector_a1, evidence, "没有收到")


def test_an_object_above_the_limit_is_refused(cast, draft, storage, settings):
    content = photo()
    evidence, upload = request_slot(cast.inspector_a1, draft, content)
    assert post_upload(upload, content) < 300
    settings.EVIDENCE_MAX_BYTES = len(content) - 1

    assert_refused(cast.inspector_a1, evidence, "超过大小上限")


# --- The slot itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "field"),
    [
        ({"content_type": "application/x-msdownload", "filename": "a.exe"}, "content_type"),
        ({"content_type": "image/gif"}, "content_type"),
        ({"size": 20 * 1024 * 1024 + 1}, "size"),
        ({"size": 0}, "size"),
        ({"sha256": "not-a-hash"}, "sha256"),
        ({"filename": "  "}, "filename"),
        ({"purpose": "selfie"}, "purpose"),
    ],
)
def test_a_slot_not_allowed_is_refused_on_its_field(cast, draft, local_storage, declared, field):
    with pytest.raises(ValidationError) as error:
        request_slot(cast.inspector_a1, draft, b"x" * 100, **declared)

    assert field in error.value.message_dict
    assert not Evidence.objects.exists()


def test_a_retried_upload_reuses_its_slot_and_a_confirmed_file_is_not_uploaded_twice(
    cast, draft, storage
):
    content = photo()
    first, _ = request_slot(cast.inspector_a1, draft, content)
    # The first upload got through, but its confirmation never arrived: the retry starts over.
    evidence_store().put(first.key, content, "image/jpeg")

    again, upload = request_slot(cast.inspector_a1, draft, content)

    assert again.pk == first.pk and again.key == first.key
    assert Evidence.objects.count() == 1
    assert post_upload(upload, content) < 300
    do_confirm_evidence(actor=cast.inspector_a1, evidence=again)
    confirmed, no_upload = request_slot(cast.inspector_a2, draft, content)
    assert (confirmed.pk, confirmed.status, no_upload) == (first.pk, "confirmed", None)
    assert Evidence.objects.count() == 1


def test_confirming_twice_returns_the_confirmed_evidence(cast, draft, local_storage):
    evidence = upload_and_confirm(cast.inspector_a1, draft, photo())

    again = do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)

    assert again.pk == evidence.pk and again.status == Evidence.Status.CONFIRMED
    assert AuditEvent.objects.filter(action="evidence.confirmed").count() == 1


@pytest.fixture(scope="module")
def moto_process():
    """moto's S3 server in a process of its own: what it allocates is not counted as ours."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(endpoint)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_until_listening(endpoint):
    for _attempt in range(100):
        try:
            requests.get(endpoint + "/moto-api/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"moto did not start at {endpoint}")


@pytest.mark.parametrize("mode", ["local", "s3"])
def test_a_20_mib_object_is_confirmed_with_bounded_memory(cast, draft, request, settings, mode):
    if mode == "s3":
        use_s3(settings, request.getfixturevalue("moto_process"))
    else:
        request.getfixturevalue("local_storage")
    content = b"%PDF-1.7\n" + bytes(20 * 1024 * 1024 - 9)
    evidence, _ = request_slot(
        cast.inspector_a1, draft, content, filename="报告.pdf", content_type="application/pdf"
    )
    evidence_store().put(evidence.key, content, "application/pdf")
    del content

    tracemalloc.start()
    try:
        evidence = do_confirm_evidence(actor=cast.inspector_a1, evidence=evidence)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert evidence.status == Evidence.Status.CONFIRMED
    assert peak < 16 * 1024 * 1024
