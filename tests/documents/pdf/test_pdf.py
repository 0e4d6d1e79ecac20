"""The PDF of a signed document: LibreOffice for real when installed, the failure recorded and
retried, and DOCX only (said, not hidden) when it is not installed."""

import hashlib
import shutil
import subprocess

import pytest
from django_tasks import default_task_backend

from documents.models import Document
from documents.pdf import services
from documents.pdf.conversion import ConversionFailed, pdf_available
from documents.pdf.services import do_convert_document_pdf, do_retry_pdf_conversions
from portal.models import AuditEvent
from portal.storage import evidence_store
from tests.documents.factories import signed_order

pytestmark = pytest.mark.usefixtures("local_storage")


def stored(key):
    return b"".join(evidence_store().chunks(key))


@pytest.mark.skipif(
    not (pdf_available() and shutil.which("pdftotext")),
    reason="LibreOffice (soffice) and pdftotext are needed: .ci/run installs them",
)
def test_the_signed_docx_becomes_a_pdf_in_chinese(cast):
    order = do_convert_document_pdf(document=signed_order(cast))

    pdf = stored(order.pdf_key)
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == order.sha256_pdf
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    squeezed = "".join(text.split())
    assert cast.firm_a.name in squeezed
    assert order.number in squeezed


def test_approval_queues_the_pdf_conversion_once_committed(
    cast, django_capture_on_commit_callbacks
):
    backend = default_task_backend
    backend.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order = signed_order(cast)

    queued = [
        result.args for result in backend.results if result.task.name == "convert_document_pdf"
    ]
    assert [str(order.pk)] in queued


def test_a_failed_conversion_is_recorded_and_retried(cast, monkeypatch, settings):
    order = signed_order(cast)
    settings.SOFFICE_BINARY = "python3"  # present on PATH, so the portal tries to convert

    def failing(docx):
        raise ConversionFailed("LibreOffice exited with 1: crash")

    monkeypatch.setattr(services, "convert_to_pdf", failing)
    failed = do_convert_document_pdf(document=order)

    assert failed.pdf_key == "" and failed.pdf_attempts == 1
    assert "crash" in failed.pdf_error
    assert AuditEvent.objects.filter(action="document.pdf_failed", target_id=str(order.pk)).exists()

    monkeypatch.setattr(services, "convert_to_pdf", lambda docx: b"%PDF-1.7 rendered")
    # The inspection record signed with the order waits for its PDF too.
    assert do_retry_pdf_conversions() == 2
    order.refresh_from_db()
    assert order.pdf_error == "" and stored(order.pdf_key) == b"%PDF-1.7 rendered"
    assert order.sha256_pdf == hashlib.sha256(b"%PDF-1.7 rendered").hexdigest()


def test_retries_stop_after_the_configured_attempts(cast, monkeypatch, settings):
    order = signed_order(cast)
    settings.SOFFICE_BINARY = "python3"
    settings.PDF_MAX_ATTEMPTS = 2
    monkeypatch.setattr(
        services, "convert_to_pdf", lambda docx: (_ for _ in ()).throw(ConversionFailed("x"))
    )

    do_retry_pdf_conversions()
    do_retry_pdf_conversions()
    do_retry_pdf_conversions()

    assert Document.objects.get(pk=order.pk).pdf_attempts == 2


def test_without_libreoffice_the_document_is_issued_as_docx_only(cast, settings):
    settings.SOFFICE_BINARY = "no-such-soffice-binary"
    order = signed_order(cast)

    converted = do_convert_document_pdf(document=order)

    assert not pdf_available()
    assert converted.pdf_key == "" and converted.pdf_attempts == 0
    assert stored(order.docx_key)
