from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from contractors import hooks
from contractors.checklists.models import Checklist, ChecklistItem
from contractors.checklists.selectors import checklist_in_use
from contractors.checklists.services import do_copy_checklist_version
from contractors.register.models import Firm, Grid, Park, Street
from contractors.tenancy.models import Agency


@admin.register(Street)
class StreetAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "bureau"]
    search_fields = ["name", "code"]


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    list_display = ["name", "street"]
    list_filter = ["street"]
    search_fields = ["name"]


@admin.register(Park)
class ParkAdmin(admin.ModelAdmin):
    list_display = ["name", "bureau"]
    search_fields = ["name"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "qualification", "contact", "phone"]
    search_fields = ["name", "uscc"]


@admin.register(Firm)
class FirmAdmin(admin.ModelAdmin):
    list_display = ["name", "uscc", "street", "park", "key_category"]
    list_filter = ["key_category", "street", "park"]
    search_fields = ["name", "uscc"]
    list_select_related = ["street", "park"]
    raw_id_fields = ["grid"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and {"street", "park"} & set(form.changed_data):
            # The statistics count by street and park: the moved firm's days are recounted.
            hooks.firms_moved.fire(firm_ids=[obj.pk])


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ["position", "category", "text", "legal_basis", "requirement"]

    # A version an inspection has used stays as that inspection saw it.
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not checklist_in_use(obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not checklist_in_use(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not checklist_in_use(obj)


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "is_current", "bureau", "created_at"]
    list_filter = ["bureau", "is_current"]
    inlines = [ChecklistItemInline]
    actions = ["copy_as_new_version"]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not checklist_in_use(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not checklist_in_use(obj)

    @admin.action(description=_("复制为新版本"))
    def copy_as_new_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一个检查表进行复制。"), messages.ERROR)
            return
        copy = do_copy_checklist_version(actor=request.user, checklist=queryset.get())
        self.message_user(
            request,
            _("已复制为“%(checklist)s”，并设为当前使用的检查表。") % {"checklist": copy},
            messages.SUCCESS,
        )
