"""DOCX to PDF with LibreOffice headless: optional at run time (without it the portal issues
DOCX only), one conversion at a time per worker process, each with a timeout."""

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from django.conf import settings

_one_at_a_time = threading.Lock()
FONTS_CONF = Path(__file__).resolve().parent.parent / "fonts.conf"


class ConversionFailed(Exception):
    pass


def pdf_available():
    return shutil.which(settings.SOFFICE_BINARY) is not None


def convert_to_pdf(docx):
    """PDF bytes of the DOCX bytes `docx`; ConversionFailed with the reason otherwise."""
    binary = shutil.which(settings.SOFFICE_BINARY)
    if binary is None:
        raise ConversionFailed("LibreOffice (soffice) is not installed")
    with _one_at_a_time, tempfile.TemporaryDirectory(prefix="portal-pdf-") as work:
        folder = Path(work)
        source = folder / "document.docx"
        source.write_bytes(docx)
        # A profile of its own: two workers sharing one would block each other.
        command = [
            binary,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(folder),
            str(source),
        ]
        try:
            finished = subprocess.run(
                command,
                capture_output=True,
                timeout=settings.PDF_TIMEOUT_SECONDS,
                check=False,
                env={**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF)},
            )
        except subprocess.TimeoutExpired:
            raise ConversionFailed(
                f"LibreOffice took longer than {settings.PDF_TIMEOUT_SECONDS} s"
            ) from None
        target = folder / "document.pdf"
        if finished.returncode != 0 or not target.exists():
            output = (finished.stderr or finished.stdout).decode(errors="replace").strip()
            raise ConversionFailed(
                f"LibreOffice exited with {finished.returncode}: {output[-500:]}"
            )
        pdf = target.read_bytes()
    if not pdf.startswith(b"%PDF-"):
        raise ConversionFailed("LibreOffice did not write a PDF")
    return pdf
