from django.urls import path, register_converter

from documents import views

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
    path("documents/", views.document_list, name="document_list"),
    path("documents/review/", views.review_queue, name="review_queue"),
    path("documents/templates/", views.template_list, name="template_list"),
    path(
        "documents/templates/<uuid:template_id>/download/",
        views.template_download,
        name="template_download",
    ),
    path("documents/settings/", views.document_settings, name="settings"),
    path("documents/<uuid:document_id>/", views.document_detail, name="document_detail"),
    path("documents/<uuid:document_id>/approve/", views.document_approve, name="document_approve"),
    path("documents/<uuid:document_id>/reject/", views.document_reject, name="document_reject"),
    path(
        "documents/<uuid:document_id>/retry-pdf/",
        views.document_retry_pdf,
        name="document_retry_pdf",
    ),
    path(
        "documents/<uuid:document_id>/acknowledge/",
        views.document_acknowledge,
        name="document_acknowledge",
    ),
    path(
        "documents/<uuid:document_id>/download/<file_format:fmt>/",
        views.document_download,
        name="document_download",
    ),
    path("documents/<uuid:document_id>/draft.docx", views.document_draft, name="document_draft"),
]
