from django.contrib import admin

from documents.models import Document, DocumentSettings, DocumentTemplate


@admin.register(DocumentSettings)
class DocumentSettingsAdmin(admin.ModelAdmin):
    list_display = ["bureau", "review_government", "review_department", "court"]


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(admin.ModelAdmin):
    """Versions are added through the template page, which checks them; never edited here."""

    list_display = ["bureau", "doc_type", "version", "is_current", "filename", "created_at"]
    list_filter = ["doc_type", "is_current"]
    exclude = ["content"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Read-only: documents change only through review, and a signed one never."""

    list_display = ["__str__", "doc_type", "status", "firm", "agency", "version", "created_at"]
    list_filter = ["doc_type", "status"]
    search_fields = ["number", "firm__name"]
    exclude = ["context"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_frozen
