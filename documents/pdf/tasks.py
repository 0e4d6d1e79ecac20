"""Background work of the documents' PDF (django-tasks): each job is idempotent."""

from django_tasks import task

from documents.models import Document
from documents.pdf.services import do_convert_document_pdf


@task()
def convert_document_pdf(document_id):
    """The PDF rendition of a signed document; a failure is recorded on the document, and
    `convert_pdfs` or the reviewer's retry runs it again."""
    document = Document.objects.filter(pk=document_id).first()
    if document is not None:
        do_convert_document_pdf(document=document)
