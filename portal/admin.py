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
    list_display = ["at", "actor", "action", "target_type", "target_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["target_id", "actor__username"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
