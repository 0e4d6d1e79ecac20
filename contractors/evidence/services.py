"""Every write of evidence (upload slots, confirmation, downloads, purging what was never
confirmed): `do_<verb>(*, actor, ...)`, atomic and audited."""

import hashlib
import re
import tempfile
import uuid
from contextlib import closing
from datetime import timedelta
from itertools import chain, groupby
from operator import attrgetter
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.evidence.files import (
    ALLOWED_TYPES,
    HEAD_BYTES,
    PHOTO_TYPES,
    extension_for,
    make_thumbnail,
    photo_facts,
    sniff_type,
)
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard
from contractors.hazards.selectors import hazards_visible_to
from contractors.inspections.selectors import inspections_visible_to
from contractors.tenancy.selectors import agency_holds_firm
from portal.access import membership_of
from portal.models import Role
from portal.services import record_audit_event, record_audit_events
from portal.storage import evidence_store
from portal.validation import InvalidTransition


class EvidenceRejected(ValidationError):
    """The uploaded object failed confirmation (the API answers 400 with the reason); when this
    is raised the object and its row are already gone."""


SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


# The purposes whose evidence always belongs to one hazard.
HAZARD_PURPOSES = (
    Evidence.Purpose.ON_SPOT,
    Evidence.Purpose.RECTIFICATION,
    Evidence.Purpose.REINSPECTION,
)


# A photo is copied aside while it is hashed, for its EXIF and thumbnail; past this size the
# copy spills to a temporary file, never to memory.
PHOTO_SPOOL_BYTES = 1024 * 1024


def _require_evidence_place(actor, inspection, hazard):
    """404 unless `actor` may see the inspection (or the hazard) the evidence would belong to."""
    if hazard is not None:
        visible = hazards_visible_to(actor).filter(pk=hazard.pk)
    else:
        visible = inspections_visible_to(actor).filter(pk=inspection.pk)
    if not visible.exists():
        raise Http404
    if hazard is not None and hazard.inspection_id != inspection.pk:
        raise ValidationError({"hazard": [_("该隐患不属于这次检查。")]})


def _require_evidence_right(actor, inspection, hazard, purpose):
    """Who may add evidence where: the agency holding the firm, to its own inspection while
    that is editable, or to a rectified hazard it re-inspects; the firm's user, to its own
    hazard awaiting rectification."""
    membership = membership_of(actor)
    if purpose == Evidence.Purpose.RECTIFICATION:
        if (
            membership is None
            or membership.role != Role.FIRM_USER
            or membership.firm_id != hazard.firm_id
        ):
            raise PermissionDenied(_("只有该企业的用户可以上传整改材料。"))
        if hazard.status not in (Hazard.Status.OPEN, Hazard.Status.OVERDUE):
            raise InvalidTransition(_("只有待整改或逾期未整改的隐患可以上传整改材料。"))
        return
    if membership is None or not membership.is_agency_staff:
        raise PermissionDenied(_("只有负责该企业的服务机构人员可以上传检查材料。"))
    if not agency_holds_firm(membership.agency_id, inspection.firm_id):
        raise PermissionDenied(_("该企业目前不由本机构负责，不能上传材料。"))
    if purpose == Evidence.Purpose.REINSPECTION:
        if hazard.status != Hazard.Status.RECTIFIED:
            raise InvalidTransition(_("只有已整改、待复查的隐患可以上传复查材料。"))
        return
    if membership.agency_id != inspection.agency_id:
        raise PermissionDenied(_("这不是本机构的检查。"))
    if not inspection.is_editable:
        raise InvalidTransition(_("已提交的检查不能再添加材料。"))


def _upload_filename(filename):
    # Browsers send a bare name, some a whole path; only the name is the user's business.
    return PurePosixPath(str(filename or "").replace("\\", "/")).name.strip()[:255]


def _declared_errors(*, filename, content_type, size, sha256):
    errors = {}
    if not _upload_filename(filename):
        errors["filename"] = [_("请提供文件名。")]
    if content_type not in ALLOWED_TYPES:
        errors["content_type"] = [
            _("不支持的文件类型“%(type)s”：只能上传 JPEG、PNG、HEIC 照片，PDF 文件或 MP4 视频。")
            % {"type": content_type}
        ]
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        errors["size"] = [_("文件大小无效。")]
    elif size > settings.EVIDENCE_MAX_BYTES:
        errors["size"] = [
            _("文件过大（%(size).1f MB），单个文件不能超过 %(limit).0f MB。")
            % {"size": size / 2**20, "limit": settings.EVIDENCE_MAX_BYTES / 2**20}
        ]
    if not isinstance(sha256, str) or not SHA256_PATTERN.fullmatch(sha256.lower()):
        errors["sha256"] = [_("SHA-256 校验值应为 64 位十六进制数。")]
    return errors


def _evidence_key(inspection, content_type):
    return (
        f"bureau/{inspection.bureau_id}/agency/{inspection.agency_id}/inspection/{inspection.pk}/"
        f"{uuid.uuid4()}.{extension_for(content_type)}"
    )


def _same_upload(actor, *, inspection, hazard, purpose, content_type, sha256):
    """The evidence this request repeats: the file confirmed there already, or the actor's own
    slot for it still pending."""
    same_file = Evidence.objects.select_for_update().filter(
        inspection=inspection, hazard=hazard, purpose=purpose, sha256=sha256
    )
    return (
        same_file.filter(status=Evidence.Status.CONFIRMED).first()
        or same_file.filter(
            status=Evidence.Status.PENDING, uploaded_by=actor, content_type=content_type
        ).first()
    )


@transaction.atomic
def do_request_evidence_upload(
    *, actor, inspection, hazard=None, purpose, filename, content_type, size, sha256
):
    """An upload slot: `(evidence, upload)`, a pending Evidence row and the presigned POST
    (`{"url", "fields"}`) that puts its object in storage.

    Asking again for the same file (same inspection, hazard, purpose and SHA-256) reuses the
    actor's pending row with a fresh policy, so a retried upload leaves no duplicate; once the
    file is confirmed, its row comes back with `upload` None: there is nothing left to send."""
    _require_evidence_place(actor, inspection, hazard)
    if purpose not in Evidence.Purpose.values:
        raise ValidationError({"purpose": [_("未知的材料用途。")]})
    if purpose in HAZARD_PURPOSES and hazard is None:
        raise ValidationError({"hazard": [_("请指定材料所属的隐患。")]})
    _require_evidence_right(actor, inspection, hazard, purpose)
    errors = _declared_errors(
        filename=filename, content_type=content_type, size=size, sha256=sha256
    )
    if errors:
        raise ValidationError(errors)
    sha256 = sha256.lower()
    evidence = _same_upload(
        actor,
        inspection=inspection,
        hazard=hazard,
        purpose=purpose,
        content_type=content_type,
        sha256=sha256,
    )
    if evidence is not None and evidence.status == Evidence.Status.CONFIRMED:
        return evidence, None
    store = evidence_store()
    expires_at = timezone.now() + timedelta(seconds=settings.UPLOAD_SLOT_SECONDS)
    reused = evidence is not None
    if reused:
        # Whatever reached the old slot was never confirmed: clear it so the retry can land
        # (the local endpoint never overwrites an object).
        store.delete(evidence.key)
        evidence.filename, evidence.size = _upload_filename(filename), size
        evidence.expires_at = expires_at
        evidence.save(update_fields=["filename", "size", "expires_at"])
    else:
        evidence = Evidence.objects.create(
            bureau_id=inspection.bureau_id,
            inspection=inspection,
            hazard=hazard,
            purpose=purpose,
            key=_evidence_key(inspection, content_type),
            filename=_upload_filename(filename),
            content_type=content_type,
            size=size,
            sha256=sha256,
            uploaded_by=actor,
            expires_at=expires_at,
        )
    upload = store.presign_post(
        key=evidence.key,
        content_type=content_type,
        size=size,
        expires_in=settings.UPLOAD_SLOT_SECONDS,
    )
    record_audit_event(
        actor=actor,
        action="evidence.upload_requested",
        target=evidence,
        bureau=inspection.bureau,
        detail={
            "inspection": str(inspection.pk),
            "hazard": str(hazard.pk) if hazard else None,
            "purpose": purpose,
            "filename": evidence.filename,
            "size": size,
            "reused": reused,
        },
    )
    return evidence, upload


def do_confirm_evidence(*, actor, evidence):
    """Accept the uploaded object once it proves to be what was declared: there, of the
    declared size within the limit, of an allowed type by its first bytes (the declared one),
    with the declared SHA-256. This is the real guard: not every S3 server enforces the POST
    policy. Anything wrong deletes the object and the row and raises EvidenceRejected.

    Not atomic as a whole, on purpose: a refusal must commit the deletion before it raises,
    and the object is read from storage outside any database transaction."""
    if evidence.status == Evidence.Status.CONFIRMED:
        return evidence
    if evidence.uploaded_by_id != actor.pk:
        raise Http404
    store = evidence_store()
    try:
        detected, photo = _checked_object(store, evidence)
    except EvidenceRejected as rejection:
        confirmed = _discard_evidence(actor, store, evidence, rejection)
        if confirmed is None:
            raise
        return confirmed
    facts, thumbnail_key = (None, None, None), ""
    if photo is not None:
        with photo:
            facts, thumbnail_key = photo_facts(photo), _store_thumbnail(store, evidence, photo)
    return _accept_evidence(actor, store, evidence, detected, facts, thumbnail_key)


def _checked_object(store, evidence):
    """`(sniffed type, seekable copy or None)` of the object once every check passes; a copy
    is kept for photos only. The type is sniffed from the same stream that is hashed, so the
    object cannot change between the two checks."""
    if timezone.now() > evidence.expires_at:
        raise EvidenceRejected(_("上传时限已过，请重新上传。"))
    size = store.size_of(evidence.key)
    if size is None:
        raise EvidenceRejected(_("没有收到上传的文件，请重新上传。"))
    if size != evidence.size:
        raise EvidenceRejected(
            _("文件大小与声明不符：声明 %(declared)d 字节，实际 %(actual)d 字节。")
            % {"declared": evidence.size, "actual": size}
        )
    if size > settings.EVIDENCE_MAX_BYTES:
        raise EvidenceRejected(_("文件超过大小上限。"))
    with closing(store.chunks(evidence.key)) as chunks:
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


def _store_thumbnail(store, evidence, photo):
    thumbnail = make_thumbnail(photo)
    if thumbnail is None:
        return ""
    key = evidence.key + ".thumb.jpg"
    store.put(key, thumbnail, "image/jpeg")
    return key


def _accept_evidence(actor, store, evidence, detected, facts, thumbnail_key):
    with transaction.atomic():
        locked = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
        if locked is None:
            # The purge took the expired slot while the object was being checked.
            for key in filter(None, (evidence.key, thumbnail_key)):
                store.delete(key)
            raise EvidenceRejected(_("上传时限已过，请重新上传。"))
        if locked.status == Evidence.Status.CONFIRMED:
            # A concurrent confirmation of the same upload won.
            return locked
        locked.taken_at, locked.taken_latitude, locked.taken_longitude = facts
        locked.thumbnail_key = thumbnail_key
        locked.status = Evidence.Status.CONFIRMED
        locked.confirmed_at = timezone.now()
        locked.save()
        record_audit_event(
            actor=actor,
            action="evidence.confirmed",
            target=locked,
            bureau=locked.bureau,
            detail={"sha256": locked.sha256, "size": locked.size, "type": detected},
        )
    return locked


def _discard_evidence(actor, store, evidence, rejection):
    """Delete a refused upload, object and row, with an audit event; None. If a concurrent
    confirmation has accepted it meanwhile, nothing is deleted and that evidence is returned."""
    with transaction.atomic():
        pending = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
        if pending is not None and pending.status == Evidence.Status.CONFIRMED:
            return pending
        store.delete(evidence.key)
        if pending is not None:
            pending.delete()
            record_audit_event(
                actor=actor,
                action="evidence.rejected",
                target=evidence,
                bureau=evidence.bureau,
                detail={"reason": " ".join(rejection.messages), "filename": evidence.filename},
            )
    return None


@transaction.atomic
def do_issue_evidence_download(*, actor, evidence, thumbnail=False):
    """A short-lived URL to the confirmed evidence object (or to its thumbnail), recorded in
    the audit log. The caller has looked the evidence up within what `actor` may see."""
    if evidence.status != Evidence.Status.CONFIRMED or (thumbnail and not evidence.thumbnail_key):
        raise Http404
    key = evidence.thumbnail_key if thumbnail else evidence.key
    filename = evidence.filename
    if thumbnail:
        filename = f"{PurePosixPath(filename).stem}.thumb.jpg"
    record_audit_event(
        actor=actor,
        action="evidence.downloaded",
        target=evidence,
        bureau=evidence.bureau,
        detail={"thumbnail": bool(thumbnail)},
    )
    return evidence_store().download_url(
        key=key, filename=filename, expires_in=settings.DOWNLOAD_URL_SECONDS
    )


@transaction.atomic
def do_purge_expired_uploads(*, actor=None):
    """Delete the upload slots never confirmed in time, with whatever reached storage for
    them; the number deleted. Running it again deletes nothing more."""
    stale = list(
        Evidence.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Evidence.Status.PENDING, expires_at__lt=timezone.now())
        .select_related("bureau")
        .order_by("bureau_id")
    )
    store = evidence_store()
    for evidence in stale:
        store.delete(evidence.key)
    for _bureau_id, rows in groupby(stale, key=attrgetter("bureau_id")):
        rows = list(rows)
        record_audit_events(
            actor=actor,
            action="evidence.expired",
            targets=rows,
            bureau=rows[0].bureau,
            detail_of=lambda row: {
                "filename": row.filename,
                "uploaded_by": str(row.uploaded_by_id),
            },
        )
    Evidence.objects.filter(pk__in=[evidence.pk for evidence in stale]).delete()
    return len(stale)
