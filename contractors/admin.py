from django.contrib import admin

from contractors.models import Agency, Firm, Grid, Park, Street


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
