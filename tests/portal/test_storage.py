"""The storage protocol (portal/storage.py): the S3 policy's conditions, and the local mode's
signed endpoints, which refuse what S3 would refuse and never serve a file without a valid,
unexpired link. Nothing is served from MEDIA_URL."""

import base64
import json
from datetime import timedelta

import pytest
from botocore.awsrequest import AWSResponse
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from portal.storage import LocalStore, StorageRefusal, content_disposition, evidence_store

KEY = "bureau/1/agency/2/inspection/3/0d6f7c1e.jpg"
FINAL = "bureau/1/agency/2/inspection/3/final/9a/0d6f7c1e.jpg"
CONTENT = b"\xff\xd8\xff\xe0" + b"photo bytes" * 100


def presigned(content=CONTENT, **overrides):
    terms = {"key": KEY, "content_type": "image/jpeg", "size": len(content), "expires_in": 900}
    return evidence_store().presign_post(**{**terms, **overrides})


def post(upload, content=CONTENT, *, fields=None, client=None):
    data = {**upload["fields"], **(fields or {})}
    if content is not None:
        data["file"] = SimpleUploadedFile("upload.jpg", content, "image/jpeg")
    return (client or Client()).post(upload["url"], data)


def stored(key=KEY):
    return evidence_store().size_of(key) is not None


def later(monkeypatch, seconds):
    moment = timezone.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(timezone, "now", lambda: moment)


def precondition_failed(request, **_):
    """A `before-send` handler answering as S3 does when a copy's source condition fails."""

    class Raw:
        def stream(self, **_):
            yield b"<Error><Code>PreconditionFailed</Code><Message>At least one</Message></Error>"

    return AWSResponse(request.url, 412, {}, Raw())


# --- S3 ------------------------------------------------------------------------------------------


def test_the_s3_policy_pins_the_key_the_type_and_the_exact_size(s3, settings):
    upload = presigned()

    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))

    assert upload["url"].endswith(f"/{settings.S3_BUCKET}")
    assert upload["fields"]["key"] == KEY
    assert upload["fields"]["Content-Type"] == "image/jpeg"
    conditions = policy["conditions"]
    assert {"key": KEY} in conditions
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["content-length-range", len(CONTENT), len(CONTENT)] in conditions


def test_v5_3_the_s3_promotion_copies_only_the_version_that_was_read(s3):
    store = evidence_store()
    store.put(KEY, CONTENT, "image/jpeg")
    size, etag = store.stat(KEY)
    sent = []
    store.client.meta.events.register(
        "before-send.s3.CopyObject", lambda request, **_: sent.append(dict(request.headers))
    )

    store.promote(KEY, FINAL, version=etag)

    assert size == len(CONTENT)
    assert [headers["x-amz-copy-source-if-match"] for headers in sent] == [etag.encode()]
    assert b"".join(store.chunks(FINAL)) == CONTENT
    assert store.keys_under("bureau/1/agency/2/inspection/3/final/") == [FINAL]


def test_v5_3_an_s3_promotion_whose_source_changed_or_went_is_refused(s3):
    store = evidence_store()
    store.put(KEY, CONTENT, "image/jpeg")
    etag = store.stat(KEY)[1]
    store.client.meta.events.register("before-send.s3.CopyObject", precondition_failed)

    with pytest.raises(StorageRefusal) as changed:
        store.promote(KEY, FINAL, version=etag)
    with pytest.raises(StorageRefusal) as gone:
        evidence_store().promote("bureau/1/none.jpg", FINAL, version=etag)

    assert changed.value.status == gone.value.status == 409
    assert not stored(FINAL)
    assert store.stat("bureau/1/none.jpg") is None


def test_the_local_endpoints_do_not_exist_in_s3_mode(s3):
    assert Client().post("/uploads/local/", {}).status_code == 404
    assert Client().get("/files/local/anything/").status_code == 404


# --- The local upload endpoint ------------------------------------------------------------------


def test_a_local_upload_lands_under_its_key_without_session_or_csrf_token(local_storage):
    upload = presigned()

    response = post(upload, client=Client(enforce_csrf_checks=True))

    assert response.status_code == 204
    assert (local_storage / KEY).read_bytes() == CONTENT
    assert upload["url"] == "/uploads/local/"
    assert set(upload["fields"]) == {"key", "Content-Type", "policy", "signature"}


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "bureau/1/agency/9/inspection/9/other.jpg"},
        {"Content-Type": "text/html"},
        {"signature": "0" * 64},
        {"signature": ""},
    ],
    ids=["other-key", "other-type", "forged-signature", "no-signature"],
)
def test_a_tampered_upload_form_is_refused(local_storage, fields):
    response = post(presigned(), fields=fields)

    assert response.status_code == 403
    assert not any(local_storage.rglob("*.jpg"))


def test_a_policy_rewritten_for_a_larger_file_is_refused(local_storage):
    upload = presigned()
    terms = json.loads(base64.urlsafe_b64decode(upload["fields"]["policy"]))
    larger = CONTENT * 10
    rewritten = base64.urlsafe_b64encode(
        json.dumps({**terms, "size": len(larger)}, sort_keys=True).encode()
    ).decode()

    response = post(upload, larger, fields={"policy": rewritten})

    assert response.status_code == 403
    assert not stored()


def test_an_expired_policy_is_refused(local_storage, monkeypatch):
    upload = presigned(expires_in=60)
    later(monkeypatch, 61)

    response = post(upload)

    assert response.status_code == 403
    assert "过期" in response.content.decode()
    assert not stored()


@pytest.mark.parametrize(
    "content", [CONTENT + b"x", CONTENT[:-1], None], ids=["larger", "smaller", "no-file"]
)
def test_a_file_other_than_the_policys_is_refused(local_storage, content):
    response = post(presigned(), content)

    assert response.status_code == 400
    assert not stored()


def test_a_request_larger_than_any_evidence_is_refused_before_it_is_read(local_storage, settings):
    upload = presigned()
    settings.EVIDENCE_MAX_BYTES = 1024

    response = post(upload, bytes(100 * 1024))

    assert response.status_code == 413
    assert not stored()


def test_an_uploaded_object_is_never_overwritten(local_storage):
    upload = presigned()
    assert post(upload).status_code == 204
    replacement = b"\xff\xd8\xff\xe0" + b"other bytes" * 100

    response = post(upload, replacement)

    assert response.status_code == 409
    assert (local_storage / KEY).read_bytes() == CONTENT
    assert [path.name for path in (local_storage / KEY).parent.iterdir()] == [KEY.split("/")[-1]]


def test_the_upload_endpoint_takes_posts_only(local_storage):
    assert Client().get("/uploads/local/").status_code == 405


# --- The local download endpoint ----------------------------------------------------------------


def put_object():
    evidence_store().put(KEY, CONTENT, "image/jpeg")


def test_a_local_download_link_serves_the_file_as_an_attachment(local_storage):
    put_object()
    url = evidence_store().download_url(key=KEY, filename="现场照片.jpg", expires_in=300)

    response = Client().get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"] == content_disposition("现场照片.jpg")
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_tampered_download_link_is_refused(local_storage):
    put_object()
    url = evidence_store().download_url(key=KEY, filename="a.jpg", expires_in=300)
    token = url.split("/")[-2]

    response = Client().get(url.replace(token, token[:-2] + "xx"))

    assert response.status_code == 403


def test_a_download_link_expires(local_storage, monkeypatch):
    put_object()
    url = evidence_store().download_url(key=KEY, filename="a.jpg", expires_in=300)
    later(monkeypatch, 301)

    assert Client().get(url).status_code == 403


def test_a_download_link_to_a_deleted_object_is_404(local_storage):
    put_object()
    url = evidence_store().download_url(key=KEY, filename="a.jpg", expires_in=300)
    evidence_store().delete(KEY)

    assert Client().get(url).status_code == 404


def test_objects_are_not_served_from_media_url(local_storage, settings):
    put_object()
    path = f"/{settings.MEDIA_URL}objects/{KEY}"

    with pytest.raises(Resolver404):
        resolve(path)
    assert Client().get(path).status_code == 404


def test_v5_3_a_local_promotion_is_a_separate_file_of_the_version_read(local_storage):
    store = evidence_store()
    store.put(KEY, CONTENT, "image/jpeg")
    size, version = store.stat(KEY)

    store.promote(KEY, FINAL, version=version)
    store.delete(KEY)
    store.put(KEY, b"other" * 10, "image/jpeg")

    assert size == len(CONTENT)
    assert b"".join(store.chunks(FINAL)) == CONTENT
    assert store.keys_under("bureau/1/agency/2/inspection/3/final/") == [FINAL]
    assert store.keys_under("bureau/1/nowhere/") == []


def test_v5_3_a_local_promotion_whose_source_changed_or_went_is_refused(local_storage):
    store = evidence_store()
    store.put(KEY, CONTENT, "image/jpeg")
    version = store.stat(KEY)[1]
    store.put(KEY, CONTENT[::-1], "image/jpeg")

    with pytest.raises(StorageRefusal) as changed:
        store.promote(KEY, FINAL, version=version)
    store.delete(KEY)
    with pytest.raises(StorageRefusal) as gone:
        store.promote(KEY, FINAL, version=version)

    assert changed.value.status == gone.value.status == 409
    assert not stored(FINAL)
    assert store.stat(KEY) is None


def test_a_key_cannot_leave_the_store(local_storage):
    with pytest.raises(ValueError):
        LocalStore().path("../../etc/passwd")


# --- Content-Disposition ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        (
            "现场照片.jpg",
            'attachment; filename="download.jpg"; '
            "filename*=UTF-8''%E7%8E%B0%E5%9C%BA%E7%85%A7%E7%89%87.jpg",
        ),
        (
            "Café menu.pdf",
            "attachment; filename=\"Cafe menu.pdf\"; filename*=UTF-8''Caf%C3%A9%20menu.pdf",
        ),
        (
            'x.jpg"\r\nSet-Cookie: a=b',
            'attachment; filename="x.jpgSet-Cookie ab"; '
            "filename*=UTF-8''x.jpgSet-Cookie%3A%20a%3Db",
        ),
        (
            "C:\\fakepath\\IMG_0001.HEIC",
            "attachment; filename=\"IMG_0001.HEIC\"; filename*=UTF-8''IMG_0001.HEIC",
        ),
        ("../..", "attachment; filename=\"download\"; filename*=UTF-8''download"),
        ("", "attachment; filename=\"download\"; filename*=UTF-8''download"),
    ],
    ids=["ascii", "chinese", "accents", "header-injection", "windows-path", "dots", "empty"],
)
def test_the_download_name_is_safe_whatever_the_user_called_the_file(filename, expected):
    assert content_disposition(filename) == expected
