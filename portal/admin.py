from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.models import AuditEvent, Bureau, Membership, User


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    autocomplete_fields = ["agency", "firm"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "full_name", "is_active", "is_staff"]
    search_fields = ["username", "full_name"]
    fieldsets = DjangoUserAdmin.fieldsets + ((None, {"fields": ["full_name"]}),)


@admin.register(Bureau)
class BureauAdmin(admin.ModelAdmin):
    list_display = ["name", "short_name", "region_code"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only even for superusers: below it the database refuses any change anyway
    (`portal/audit/triggers.py`). The chains' heads are not in the admin at all."""

    list_display = ["at", "bureau", "sequence", "actor", "action", "target_type", "target_id"]
    list_filter = ["bureau", "action"]
    list_select_related = ["bureau", "actor"]
    search_fields = ["target_id", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
