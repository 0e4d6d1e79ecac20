from django.urls import path, register_converter

from documents.delivery import views as delivery_views
from documents.drafting import views as drafting_views
from documents.pdf import views as pdf_views
from documents.review import views as review_views

app_name = "documents"


class FileFormatConverter:
    """The two renditions of a signed document; anything else is not a URL of ours (404)."""

    regex = "docx|pdf"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(FileFormatConverter, "file_format")

urlpatterns = [
    path("documents/", review_views.document_list, name="document_list"),
    path("documents/review/", review_views.review_queue, name="review_queue"),
    path("documents/templates/", drafting_views.template_list, name="template_list"),
    path(
        "documents/templates/<uuid:template_id>/download/",
        drafting_views.template_download,
        name="template_download",
    ),
    path("documents/settings/", drafting_views.document_settings, name="settings"),
    path("documents/<uuid:document_id>/", review_views.document_detail, name="document_detail"),
    path(
        "documents/<uuid:document_id>/approve/",
        review_views.document_approve,
        name="document_approve",
    ),
    path(
        "documents/<uuid:document_id>/reject/", review_views.document_reject, name="document_reject"
    ),
    path(
        "documents/<uuid:document_id>/retry-pdf/",
        pdf_views.document_retry_pdf,
        name="document_retry_pdf",
    ),
    path(
        "documents/<uuid:document_id>/acknowledge/",
        delivery_views.document_acknowledge,
        name="document_acknowledge",
    ),
    path(
        "documents/<uuid:document_id>/download/<file_format:fmt>/",
        delivery_views.document_download,
        name="document_download",
    ),
    path(
        "documents/<uuid:document_id>/draft.docx",
        delivery_views.document_draft,
        name="document_draft",
    ),
]
