"""The confirm step's verdict on a stored object: there, of the declared size within the
limit, of an allowed type by its first bytes (the declared one), with the declared SHA-256.
Reads storage and writes nothing; `contractors/evidence/services.py` acts on the verdict."""

import hashlib
import tempfile
from contextlib import closing
from itertools import chain

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.evidence.files import HEAD_BYTES, PHOTO_TYPES, sniff_type

# A photo is copied aside while it is hashed, for its EXIF and thumbnail; past this size the
# copy spills to a temporary file, never to memory.
PHOTO_SPOOL_BYTES = 1024 * 1024


class EvidenceRejected(ValidationError):
    """The uploaded object failed confirmation (the API answers 400 with the reason); when this
    is raised the object and its row are already gone."""


def checked_upload(store, evidence):
    """The version (ETag, or the local file's identity) of the uploaded object once the slot
    is in time and the object is there with the declared size: the version the promotion to
    the final key is conditional on."""
    if timezone.now() > evidence.expires_at:
        raise EvidenceRejected(_("上传时限已过，请重新上传。"))
    found = store.stat(evidence.key)
    if found is None:
        raise EvidenceRejected(_("没有收到上传的文件，请重新上传。"))
    size, version = found
    _check_size(evidence, size)
    return version


def checked_content(store, key, evidence):
    """`(sniffed type, seekable copy or None)` of the object at `key` once every check passes;
    a copy is kept for photos only. `key` is the final copy, which no upload can reach: what
    is checked here is what is kept. Its size is checked again because a server that ignores
    the copy's condition may have copied a replacement. The type is sniffed from the same
    stream that is hashed, so the object cannot change between the two checks."""
    size = store.size_of(key)
    if size is None:
        raise EvidenceRejected(_("没有收到上传的文件，请重新上传。"))
    _check_size(evidence, size)
    with closing(store.chunks(key)) as chunks:
        head = b""
        for chunk in chunks:
            head += chunk
            if len(head) >= HEAD_BYTES:
                break
        detected = _sniffed_as_declared(head[:HEAD_BYTES], evidence.content_type)
        copy = (
            tempfile.SpooledTemporaryFile(max_size=PHOTO_SPOOL_BYTES)
            if detected in PHOTO_TYPES
            else None
        )
        digest = hashlib.sha256()
        for chunk in chain([head], chunks):
            digest.update(chunk)
            if copy is not None:
                copy.write(chunk)
    if digest.hexdigest() != evidence.sha256:
        if copy is not None:
            copy.close()
        raise EvidenceRejected(
            _("文件的 SHA-256 校验值与声明不符，文件可能在上传中损坏，请重新上传。")
        )
    return detected, copy


def _check_size(evidence, size):
    if size != evidence.size:
        raise EvidenceRejected(
            _("文件大小与声明不符：声明 %(declared)d 字节，实际 %(actual)d 字节。")
            % {"declared": evidence.size, "actual": size}
        )
    if size > settings.EVIDENCE_MAX_BYTES:
        raise EvidenceRejected(_("文件超过大小上限。"))


def _sniffed_as_declared(head, declared):
    detected = sniff_type(head)
    if detected is None:
        raise EvidenceRejected(_("文件内容不是允许的类型（JPEG、PNG、HEIC、PDF、MP4）。"))
    if detected != declared:
        raise EvidenceRejected(
            _("文件内容是 %(detected)s，与声明的 %(declared)s 不符。")
            % {"detected": detected, "declared": declared}
        )
    return detected
