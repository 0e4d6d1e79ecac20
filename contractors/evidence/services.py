"""Every write of evidence (upload slots, confirmation, downloads, purging what was never
confirmed): `do_<verb>(*, actor, ...)`, atomic and audited."""

import logging
import re
import uuid
from datetime import timedelta
from itertools import groupby
from operator import attrgetter
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from contractors.evidence.checks import EvidenceRejected, checked_content, checked_upload
from contractors.evidence.files import (
    ALLOWED_TYPES,
    extension_for,
    make_thumbnail,
    photo_facts,
)
from contractors.evidence.models import Evidence
from contractors.hazards.models import Hazard
from contractors.hazards.selectors import hazards_visible_to
from contractors.inspections.models import Inspection
from contractors.inspections.selectors import inspections_visible_to
from contractors.tenancy.selectors import agency_holds_firm
from portal.access import membership_of
from portal.models import Role
from portal.services import record_audit_event, record_audit_events
from portal.storage import STORAGE_ERRORS, StorageRefusal, evidence_store
from portal.validation import InvalidTransition

logger = logging.getLogger(__name__)


class EvidenceStorageFailed(Exception):
    """Object storage failed (not the file): nothing was confirmed and the request may be
    retried (the API answers 503)."""


SHA256_PATTERN = re.compile(r"[0-9a-f]{64}")


# The purposes whose evidence always belongs to one hazard.
HAZARD_PURPOSES = (
    Evidence.Purpose.ON_SPOT,
    Evidence.Purpose.RECTIFICATION,
    Evidence.Purpose.REINSPECTION,
)


THUMBNAIL_SUFFIX = ".thumb.jpg"


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


def _earlier_request(actor, idempotency_key):
    """The slot the actor's earlier request with this Idempotency-Key made, or None."""
    if not idempotency_key:
        return None
    return (
        Evidence.objects.select_for_update()
        .filter(uploaded_by=actor, idempotency_key=idempotency_key)
        .first()
    )


def _new_slot(**fields):
    try:
        with transaction.atomic():
            return Evidence.objects.create(**fields)
    except IntegrityError:
        # The same Idempotency-Key at the same moment for another inspection, whose lock this
        # request does not wait for: that request's answer is the one to have.
        raise InvalidTransition(_("同一 Idempotency-Key 的请求正在处理，请稍后重试。")) from None


@transaction.atomic
def do_request_evidence_upload(
    *,
    actor,
    inspection,
    hazard=None,
    purpose,
    filename,
    content_type,
    size,
    sha256,
    idempotency_key="",
):
    """An upload slot: `(evidence, upload)`, a pending Evidence row and the presigned POST
    (`{"url", "fields"}`) that puts its object in storage.

    Asking again for the same file (same inspection, hazard, purpose and SHA-256) reuses the
    actor's pending row with a fresh policy, so a retried upload leaves no duplicate, also
    when both requests arrive at once; once the file is confirmed, its row comes back with
    `upload` None: there is nothing left to send. Asking again with the same
    `idempotency_key` answers with the slot the first request made, whatever else it says."""
    _require_evidence_place(actor, inspection, hazard)
    if purpose not in Evidence.Purpose.values:
        raise ValidationError({"purpose": [_("未知的材料用途。")]})
    if purpose in HAZARD_PURPOSES and hazard is None:
        raise ValidationError({"hazard": [_("请指定材料所属的隐患。")]})
    _require_evidence_right(actor, inspection, hazard, purpose)
    errors = _declared_errors(
        filename=filename, content_type=content_type, size=size, sha256=sha256
    )
    if len(idempotency_key) > 128 or not idempotency_key.isascii():
        errors["Idempotency-Key"] = [_("Idempotency-Key 应为不超过 128 个字符的 ASCII 字符串。")]
    if errors:
        raise ValidationError(errors)
    sha256 = sha256.lower()
    # Two requests for the same file at once (a double tap, a retry racing the first) must
    # find one slot, not make two: every slot request of an inspection looks behind this lock.
    # FOR NO KEY UPDATE: rows that only refer to the inspection can still be written meanwhile.
    list(Inspection.objects.select_for_update(no_key=True).filter(pk=inspection.pk).values("pk"))
    replayed = _earlier_request(actor, idempotency_key)
    evidence = replayed or _same_upload(
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
        try:
            store.delete(evidence.key)
        except STORAGE_ERRORS as error:
            logger.exception("reusing the slot of evidence %s: storage failed", evidence.pk)
            raise EvidenceStorageFailed(_("文件存储暂时不可用，请稍后重试。")) from error
        if replayed is None:
            evidence.filename, evidence.size = _upload_filename(filename), size
        evidence.expires_at = expires_at
        evidence.save(update_fields=["filename", "size", "expires_at"])
    else:
        evidence = _new_slot(
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
            idempotency_key=idempotency_key,
        )
    upload = store.presign_post(
        key=evidence.key,
        content_type=evidence.content_type,
        size=evidence.size,
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
            "size": evidence.size,
            "reused": reused,
        },
    )
    return evidence, upload


def do_confirm_evidence(*, actor, evidence):
    """Accept the uploaded object once it proves to be what was declared (`checks.py`). This
    is the real guard: not every S3 server enforces the POST policy. Anything wrong deletes the
    objects and the row and raises EvidenceRejected; storage failing raises
    EvidenceStorageFailed and leaves the slot pending, to be confirmed again.

    The object is first copied to a final key that no presigned POST grants, conditionally on
    the version whose size was checked, and the copy is what is checked and kept: the
    uploader's POST stays valid until the slot expires, and whatever it puts at the upload key
    after this never reaches what is downloaded (ASVS 5.0 V5.3). Each attempt copies to a key
    of its own, so a concurrent attempt never overwrites a copy that another one checked.

    Not atomic as a whole, on purpose: a refusal must commit the deletion before it raises,
    and the object is read from storage outside any database transaction."""
    if evidence.status == Evidence.Status.CONFIRMED:
        return evidence
    if evidence.uploaded_by_id != actor.pk:
        raise Http404
    store = evidence_store()
    final_key = _final_prefix(evidence) + _fresh_name(evidence)
    attempt = (final_key, final_key + THUMBNAIL_SUFFIX)
    try:
        detected, facts, thumbnail_key = _promoted(store, evidence, final_key)
    except EvidenceRejected as rejection:
        _forget(store, attempt)
        try:
            confirmed = _discard_evidence(actor, store, evidence, rejection)
        except STORAGE_ERRORS as error:
            # The row stays, pending: confirming again, or the purge once it expires, ends it.
            logger.exception("discarding evidence %s: storage failed", evidence.pk)
            raise EvidenceStorageFailed(_("文件存储暂时不可用，请稍后重试。")) from error
        if confirmed is None:
            raise
        return confirmed
    except STORAGE_ERRORS as error:
        logger.exception("confirming evidence %s: storage failed", evidence.pk)
        _forget(store, attempt)
        raise EvidenceStorageFailed(_("文件存储暂时不可用，尚未确认，请稍后重新确认。")) from error
    return _accept_evidence(actor, store, evidence, detected, facts, final_key, thumbnail_key)


def _final_prefix(evidence):
    """The folder of the evidence's final copies: beside its upload, under `final/`, which no
    presigned POST grants (a policy grants its one exact key, `<uuid>.<ext>` a level up)."""
    upload_key = evidence.upload_key or evidence.key
    return f"{PurePosixPath(upload_key).parent}/final/{evidence.pk}/"


def _fresh_name(evidence):
    return f"{uuid.uuid4().hex}.{extension_for(evidence.content_type)}"


def _promoted(store, evidence, final_key):
    """`(sniffed type, photo facts, thumbnail key)` once the upload is copied to `final_key`
    and the copy passes every check."""
    version = checked_upload(store, evidence)
    try:
        store.promote(evidence.key, final_key, version=version)
    except StorageRefusal as refusal:
        # Replaced or deleted since its size was read: what was checked is not what is there.
        raise EvidenceRejected(refusal.message) from None
    detected, photo = checked_content(store, final_key, evidence)
    if photo is None:
        return detected, (None, None, None), ""
    with photo:
        return detected, photo_facts(photo), _store_thumbnail(store, final_key, photo)


def _store_thumbnail(store, final_key, photo):
    thumbnail = make_thumbnail(photo)
    if thumbnail is None:
        return ""
    key = final_key + THUMBNAIL_SUFFIX
    store.put(key, thumbnail, "image/jpeg")
    return key


def _forget(store, keys):
    """Delete what one confirmation attempt wrote, as far as storage lets it now; what stays
    is under the evidence's `final/` folder, where the purge finds it."""
    for key in keys:
        try:
            store.delete(key)
        except STORAGE_ERRORS:
            logger.warning("evidence object %s left for purge_uploads", key, exc_info=True)


def _accept_evidence(actor, store, evidence, detected, facts, final_key, thumbnail_key):
    attempt = (final_key, final_key + THUMBNAIL_SUFFIX)
    with transaction.atomic():
        locked = Evidence.objects.select_for_update().filter(pk=evidence.pk).first()
        if locked is None:
            # The purge took the expired slot while the object was being checked.
            _forget(store, (evidence.key, *attempt))
            raise EvidenceRejected(_("上传时限已过，请重新上传。"))
        if locked.status == Evidence.Status.CONFIRMED:
            # A concurrent confirmation of the same upload won, with a copy of its own.
            _forget(store, attempt)
            return locked
        locked.taken_at, locked.taken_latitude, locked.taken_longitude = facts
        locked.upload_key, locked.key = locked.key, final_key
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
    # Only to spare the storage: the POST may put an object there again until the slot
    # expires, so the purge deletes the upload key after that in any case, and a failure now
    # is logged and left to it rather than undo a confirmation that is complete.
    _forget(store, (locked.upload_key,))
    return locked


def _discard_evidence(actor, store, evidence, rejection):
    """Delete a refused upload, object and row, with an audit event; None. If a concurrent
    confirmation has accepted it meanwhile, nothing of it is deleted and that evidence is
    returned."""
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
    them (the upload, and any copy an interrupted confirmation left under `final/`); the
    number deleted. Then clear the upload keys of confirmed evidence whose slot has expired.
    Running it again deletes nothing more; a storage failure fails the run, which the next
    run repeats."""
    stale = list(
        Evidence.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=Evidence.Status.PENDING, expires_at__lt=timezone.now())
        .select_related("bureau")
        .order_by("bureau_id")
    )
    store = evidence_store()
    for evidence in stale:
        for key in [evidence.key, *store.keys_under(_final_prefix(evidence))]:
            store.delete(key)
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
    _clear_upload_keys(store)
    return len(stale)


def _clear_upload_keys(store):
    """Delete what may lie at the former upload keys of confirmed evidence, now that their
    presigned POSTs have expired and nothing can put an object there again, and any copy a
    concurrent or interrupted confirmation left beside the one kept."""
    swept = list(
        Evidence.objects.select_for_update(skip_locked=True)
        .filter(status=Evidence.Status.CONFIRMED, expires_at__lt=timezone.now())
        .exclude(upload_key="")
    )
    for evidence in swept:
        kept = {evidence.key, evidence.thumbnail_key}
        for key in [evidence.upload_key, *store.keys_under(_final_prefix(evidence))]:
            if key not in kept:
                store.delete(key)
    Evidence.objects.filter(pk__in=[evidence.pk for evidence in swept]).update(upload_key="")
