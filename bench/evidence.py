"""Measurement 6: confirming a 20 MiB evidence object through the real service (size check,
type sniffed from the first bytes, SHA-256 of the whole object, streamed in chunks from the
store; for a photo also its EXIF and thumbnail): time, and how much the process's memory
grows at the peak, which must stay under 16 MiB.

The objects live in the local store (a temporary folder): the embedded default, and the same
streaming code path as S3 (`chunks`). Each run asks for a fresh upload slot, puts the object
where the browser would have, and confirms it; only the confirmation is timed, and the run is
rolled back and its files removed."""

import hashlib
import io
import os
import statistics
import tempfile
import time
import tracemalloc
from functools import partial
from pathlib import Path

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from PIL import Image

from bench.harness import RUNS, WARM_UP, Result, p95
from contractors.evidence.models import Evidence
from contractors.evidence.services import do_confirm_evidence, do_request_evidence_upload
from contractors.inspections.models import Inspection
from contractors.inspections.services import do_start_inspection
from contractors.tenancy.models import Assignment
from portal.storage import evidence_store

MIB = 1024 * 1024
SIZE = 20 * MIB
LIMIT_MIB = 16
TRACED_RUNS = 3


def mp4_object():
    """An MP4 of exactly SIZE bytes: an `ftyp` box, then incompressible data."""
    head = (24).to_bytes(4, "big") + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return head + os.urandom(SIZE - len(head))


def jpeg_object():
    """A 12-megapixel photo of noise (JPEG barely compresses it), padded after its end marker
    to exactly SIZE bytes."""
    with Image.effect_noise((4000, 3000), 64) as grey:
        photo = Image.merge("RGB", (grey, grey.rotate(180), grey.transpose(Image.FLIP_LEFT_RIGHT)))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    data = out.getvalue()
    assert len(data) < SIZE, len(data)
    return data + b"\x00" * (SIZE - len(data))


def resident_kib(field):
    """A resident-memory figure of this process from /proc (VmRSS now, VmHWM its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def peak_growth_mib(action):
    """How far the resident memory rose above where it stood while `action` ran, in MiB. The
    kernel's peak mark is reset first (clear_refs 5), so only this call counts. Memory the
    process freed earlier but kept can hide an allocation from this figure: `traced_peak_mib`
    is the other half of the answer."""
    Path("/proc/self/clear_refs").write_text("5")
    before = resident_kib("VmRSS")
    action()
    return (resident_kib("VmHWM") - before) / 1024


def traced_peak_mib(action):
    """The most Python held at once in allocations made while `action` ran, in MiB: every
    buffer a read of the object could land in, freed or not."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


class Uploads:
    """Upload slots on a draft inspection of the agency that holds its firm."""

    def __init__(self, district):
        agency = district.agencies[0]
        self.inspector, partner = district.inspectors[0][:2]
        assignment = (
            Assignment.objects.filter(contract__agency=agency, ended_at__isnull=True)
            .select_related("firm")
            .first()
        )
        self.inspection = do_start_inspection(
            actor=self.inspector,
            firm=assignment.firm,
            kind=Inspection.Kind.ROUTINE,
            inspected_on=timezone.localdate(),
            inspectors=[self.inspector, partner],
            firm_representative="王安全",
        )

    def uploaded(self, data, content_type, filename):
        """A pending evidence row whose object is in the store, as after the browser's POST."""
        evidence, _upload = do_request_evidence_upload(
            actor=self.inspector,
            inspection=self.inspection,
            purpose=Evidence.Purpose.FINDING,
            filename=filename,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        evidence_store().put(evidence.key, data, content_type)
        return evidence

    def confirm(self, evidence):
        confirmed = do_confirm_evidence(actor=self.inspector, evidence=evidence)
        assert confirmed.status == Evidence.Status.CONFIRMED


def _measured(uploads, data, content_type, filename, objects):
    """(milliseconds of each confirmation, the largest growth of resident memory and the
    largest peak of traced allocations, in MiB), after the warm-up; the allocations are traced
    in runs of their own, as tracing slows every allocation down."""
    samples, resident, traced = [], [], []
    for run in range(WARM_UP + RUNS + TRACED_RUNS):
        with transaction.atomic():
            evidence = uploads.uploaded(data, content_type, filename)
            confirm = partial(uploads.confirm, evidence)
            if run < WARM_UP:
                confirm()
            elif run < WARM_UP + RUNS:
                started = time.perf_counter()
                resident.append(peak_growth_mib(confirm))
                samples.append((time.perf_counter() - started) * 1000)
            else:
                traced.append(traced_peak_mib(confirm))
            transaction.set_rollback(True)
        for path in objects.rglob("*"):
            if path.is_file():
                path.unlink()
    return samples, max(resident), max(traced)


def run(district):
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as media:
        with override_settings(MEDIA_ROOT=media, S3_BUCKET=""), transaction.atomic():
            uploads = Uploads(district)
            for label, content_type, filename, data in (
                ("MP4 video", "video/mp4", "巡查录像.mp4", mp4_object()),
                (
                    "JPEG photo, with EXIF and thumbnail",
                    "image/jpeg",
                    "现场照片.jpg",
                    jpeg_object(),
                ),
            ):
                samples, resident, traced = _measured(
                    uploads, data, content_type, filename, Path(media) / "objects"
                )
                results.append(
                    Result(
                        name=(
                            f"confirming a 20 MiB evidence object ({label}): peak memory growth "
                            f"{max(resident, traced):.1f} MiB (resident {resident:.1f}, "
                            f"allocated {traced:.1f}; limit {LIMIT_MIB} MiB)"
                        ),
                        scale="20 MiB, local store",
                        median_ms=round(statistics.median(samples), 2),
                        p95_ms=round(p95(samples), 2),
                        met=max(resident, traced) < LIMIT_MIB,
                    )
                )
            transaction.set_rollback(True)
    return results
