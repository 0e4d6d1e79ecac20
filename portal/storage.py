"""Evidence objects: uploaded straight from the browser, never served from a public URL.

S3 (through boto3) when a bucket is configured; local files otherwise. Both speak the same
protocol, so one browser client serves both: a presigned POST (`{"url", "fields"}`) to upload,
then short-lived signed URLs to download. Both stores offer the same methods: `presign_post`,
`size_of`, `stat`, `chunks`, `read_head`, `put`, `promote`, `keys_under`, `delete`,
`download_url` and `check`."""

import base64
import json
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

CHUNK_SIZE = 1024 * 1024
UPLOAD_SALT = "portal.storage.upload"
DOWNLOAD_SALT = "portal.storage.download"
# Room for the policy fields and the multipart framing around the file itself.
FORM_OVERHEAD_BYTES = 64 * 1024
FALLBACK_FILENAME = "download"
MISSING_CODES = {"404", "NoSuchKey", "NotFound"}
CHANGED_CODES = {"412", "PreconditionFailed"}
# What a store raises when the storage itself fails (network, credentials, disk): never a
# verdict on the object, so the caller reports it and lets the request be retried.
STORAGE_ERRORS = (BotoCoreError, ClientError, OSError)


class StorageRefusal(Exception):
    """The local endpoints refuse a request as S3 would, with an HTTP status and a reason; a
    promotion is refused (409) when its source is no longer the version that was checked."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def evidence_store(*, timeout_seconds=None):
    """The store of the configured mode: S3 when a bucket is named, local files otherwise."""
    if settings.S3_BUCKET:
        return S3Store(timeout_seconds=timeout_seconds)
    return LocalStore()


def content_disposition(filename):
    """An `attachment` header that no user-supplied name can break: RFC 6266 `filename*` in
    UTF-8, and a plain ASCII `filename` for clients that ignore it."""
    name = _safe_filename(filename)
    encoded = quote(name, safe="")
    return f"attachment; filename=\"{_ascii_filename(name)}\"; filename*=UTF-8''{encoded}"


def _safe_filename(filename):
    # A browser may send a whole path ("C:\fakepath\x.jpg"); control characters would let a
    # name end the header or start another.
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c != '"')
    return name.strip(" .") or FALLBACK_FILENAME


def _ascii_filename(name):
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""

    def ascii_only(text):
        plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^A-Za-z0-9 ._()-]", "", plain).strip(" .")

    stem, extension = ascii_only(stem) or FALLBACK_FILENAME, ascii_only(extension)
    return f"{stem}.{extension}" if extension else stem


class S3Store:
    def __init__(self, *, timeout_seconds=None):
        self.bucket = settings.S3_BUCKET
        # A health check wants a quick answer, one try; everything else boto3's defaults.
        quick = (
            {}
            if timeout_seconds is None
            else {
                "connect_timeout": timeout_seconds,
                "read_timeout": timeout_seconds,
                "retries": {"total_max_attempts": 1},
            }
        )
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.S3_ENDPOINT_URL,
            region_name=settings.S3_REGION,
            aws_access_key_id=settings.S3_ACCESS_KEY_ID or None,
            aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY or None,
            # Path-style: MinIO and Ceph behind one host name have no per-bucket DNS.
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, **quick),
        )

    def check(self):
        """Raise unless the bucket answers to these credentials."""
        self.client.head_bucket(Bucket=self.bucket)

    def presign_post(self, *, key, content_type, size, expires_in):
        # boto3 adds the exact-key and bucket conditions itself.
        return self.client.generate_presigned_post(
            self.bucket,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
            ExpiresIn=expires_in,
        )

    def size_of(self, key):
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING_CODES:
                return None
            raise

    def stat(self, key):
        """`(size, version)` of the object, its version being the ETag; None when absent."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING_CODES:
                return None
            raise
        return head["ContentLength"], head["ETag"]

    def promote(self, source, target, *, version):
        """Copy `source` to `target` only while `source` is still the `version` (ETag) that was
        read: S3 refuses the copy (412) if the object was replaced in between. Servers that
        ignore the condition exist (moto), so the caller still checks what reached `target`."""
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource={"Bucket": self.bucket, "Key": source},
                CopySourceIfMatch=version,
                MetadataDirective="COPY",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in MISSING_CODES | CHANGED_CODES:
                raise StorageRefusal(409, _("文件在确认过程中被替换或删除，请重新上传。")) from None
            raise

    def keys_under(self, prefix):
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        return [item["Key"] for page in pages for item in page.get("Contents", ())]

    def chunks(self, key, chunk_size=CHUNK_SIZE):
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def read_head(self, key, n):
        response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{n - 1}")
        return response["Body"].read()

    def put(self, key, data, content_type):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def download_url(self, *, key, filename, expires_in):
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition(filename),
            },
            ExpiresIn=expires_in,
        )


class LocalStore:
    """Files under MEDIA_ROOT/objects, which no URL serves: they are reached only through the
    app's signed upload and download endpoints."""

    def __init__(self):
        self.root = (Path(settings.MEDIA_ROOT) / "objects").resolve()

    def check(self):
        """Raise unless the store's folder can be written to."""
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")

    def path(self, key):
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"object key outside the store: {key!r}")
        return path

    def presign_post(self, *, key, content_type, size, expires_in):
        policy = _encode(
            {
                "key": key,
                "content_type": content_type,
                "size": size,
                "expires": int(timezone.now().timestamp()) + expires_in,
            }
        )
        return {
            "url": reverse("local-upload"),
            "fields": {
                "key": key,
                "Content-Type": content_type,
                "policy": policy,
                "signature": _policy_signature(policy),
            },
        }

    def check_request_length(self, content_length):
        """Refuse a request too large for any evidence before its body is read."""
        try:
            length = int(content_length or 0)
        except ValueError:
            raise StorageRefusal(400, _("请求格式不正确。")) from None
        if length > settings.EVIDENCE_MAX_BYTES + FORM_OVERHEAD_BYTES:
            raise StorageRefusal(413, _("文件超过大小上限。"))

    def receive(self, fields, file):
        """Store an uploaded file under the terms of its signed policy, as S3 does for a
        presigned POST; an object already there is never overwritten."""
        policy = self._verified_policy(fields.get("policy", ""), fields.get("signature", ""))
        declared = (fields.get("key"), fields.get("Content-Type"))
        if declared != (policy["key"], policy["content_type"]):
            raise StorageRefusal(403, _("上传的字段与上传凭证不符。"))
        if file is None:
            raise StorageRefusal(400, _("没有收到文件。"))
        if file.size != policy["size"]:
            raise StorageRefusal(400, _("文件大小与上传凭证不符。"))
        self._publish(policy["key"], file.chunks())

    def _verified_policy(self, policy, signature):
        if not constant_time_compare(_policy_signature(policy), signature):
            raise StorageRefusal(403, _("上传凭证无效。"))
        decoded = _decode(policy)
        if decoded["expires"] < timezone.now().timestamp():
            raise StorageRefusal(403, _("上传凭证已过期，请重新申请上传。"))
        return decoded

    def _publish(self, key, chunks):
        # Written aside, then linked into place: the object appears whole or not at all, and
        # the link fails rather than replace an object that is already there.
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".upload-") as spool:
            for chunk in chunks:
                spool.write(chunk)
            spool.flush()
            try:
                os.link(spool.name, path)
            except FileExistsError:
                raise StorageRefusal(409, _("该位置已有文件，不能覆盖。")) from None

    def size_of(self, key):
        path = self.path(key)
        return path.stat().st_size if path.is_file() else None

    def stat(self, key):
        """`(size, version)` of the file, its version naming the very file (device, inode,
        modification time) as an ETag names an S3 object's version; None when absent."""
        try:
            stat = self.path(key).stat()
        except FileNotFoundError:
            return None
        return stat.st_size, _file_version(stat)

    def promote(self, source, target, *, version):
        """Copy `source` to a new file at `target` if `source` is still the file `version`
        names, as S3's conditional copy does; a separate file, so nothing done to `source`
        later can reach it. Refused (409) when `source` has changed or gone, or `target`
        exists."""
        try:
            with self.path(source).open("rb") as file:
                if _file_version(os.fstat(file.fileno())) != version:
                    raise StorageRefusal(409, _("文件在确认过程中被替换或删除，请重新上传。"))
                self._publish(target, iter(lambda: file.read(CHUNK_SIZE), b""))
        except FileNotFoundError:
            raise StorageRefusal(409, _("文件在确认过程中被替换或删除，请重新上传。")) from None

    def keys_under(self, prefix):
        folder = self.root / prefix
        if not folder.resolve().is_relative_to(self.root) or not folder.is_dir():
            return []
        return sorted(
            str(path.relative_to(self.root))
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(".upload-")
        )

    def chunks(self, key, chunk_size=CHUNK_SIZE):
        with self.path(key).open("rb") as file:
            while chunk := file.read(chunk_size):
                yield chunk

    def read_head(self, key, n):
        with self.path(key).open("rb") as file:
            return file.read(n)

    def put(self, key, data, content_type):
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def delete(self, key):
        self.path(key).unlink(missing_ok=True)

    def download_url(self, *, key, filename, expires_in):
        token = signing.dumps(
            {
                "key": key,
                "filename": filename,
                "expires": int(timezone.now().timestamp()) + expires_in,
            },
            salt=DOWNLOAD_SALT,
        )
        return reverse("local-download", kwargs={"token": token})

    def open_download(self, token):
        """(the open file, its download name) for a download token that is genuine, unexpired
        and names an object that exists."""
        try:
            grant = signing.loads(token, salt=DOWNLOAD_SALT)
        except signing.BadSignature:
            raise StorageRefusal(403, _("下载链接无效。")) from None
        if grant["expires"] < timezone.now().timestamp():
            raise StorageRefusal(403, _("下载链接已过期，请重新打开。"))
        try:
            return self.path(grant["key"]).open("rb"), grant["filename"]
        except FileNotFoundError:
            raise StorageRefusal(404, _("文件不存在。")) from None


def _file_version(stat):
    return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}"


def _encode(policy):
    return base64.urlsafe_b64encode(json.dumps(policy, sort_keys=True).encode()).decode()


def _decode(policy):
    # Only ever called on a policy whose signature holds: it is our own JSON.
    return json.loads(base64.urlsafe_b64decode(policy.encode()))


def _policy_signature(policy):
    return salted_hmac(UPLOAD_SALT, policy, algorithm="sha256").hexdigest()
