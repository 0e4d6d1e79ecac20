from django.urls import path

from contractors.evidence import views as evidence_views
from contractors.hazards import views as hazards_views
from contractors.inspections import views as inspections_views
from contractors.register import views as register_views
from contractors.tenancy import views as tenancy_views

app_name = "contractors"

urlpatterns = [
    path("firms/", register_views.firm_list, name="firm_list"),
    path("firms/share-out/", tenancy_views.firm_share_out, name="firm_share_out"),
    path("firms/<uuid:firm_id>/", register_views.firm_detail, name="firm_detail"),
    path("register/import/", register_views.register_import, name="register_import"),
    path(
        "register/import/<uuid:import_id>/",
        register_views.register_import_detail,
        name="register_import_detail",
    ),
    path(
        "register/import/<uuid:import_id>/commit/",
        register_views.register_import_commit,
        name="register_import_commit",
    ),
    path("contracts/", tenancy_views.contract_list, name="contract_list"),
    path("contracts/new/", tenancy_views.contract_create, name="contract_create"),
    path("contracts/<uuid:contract_id>/", tenancy_views.contract_detail, name="contract_detail"),
    path(
        "contracts/<uuid:contract_id>/assign/",
        tenancy_views.contract_assign,
        name="contract_assign",
    ),
    path(
        "contracts/<uuid:contract_id>/unassign/",
        tenancy_views.contract_unassign,
        name="contract_unassign",
    ),
    path("my-firms/", inspections_views.my_firms, name="my_firms"),
    path(
        "firms/<uuid:firm_id>/inspections/",
        inspections_views.firm_inspections,
        name="firm_inspections",
    ),
    path("inspections/", inspections_views.inspection_list, name="inspection_list"),
    path(
        "inspections/<uuid:inspection_id>/",
        inspections_views.inspection_detail,
        name="inspection_detail",
    ),
    path(
        "inspections/<uuid:inspection_id>/answer/",
        inspections_views.inspection_answer,
        name="inspection_answer",
    ),
    path(
        "inspections/<uuid:inspection_id>/hazards/",
        inspections_views.inspection_hazard_create,
        name="inspection_hazard_create",
    ),
    path(
        "inspections/<uuid:inspection_id>/review/",
        inspections_views.inspection_review,
        name="inspection_review",
    ),
    path(
        "inspections/<uuid:inspection_id>/submit/",
        inspections_views.inspection_submit,
        name="inspection_submit",
    ),
    path("hazards/", hazards_views.hazard_list, name="hazard_list"),
    path("hazards/<uuid:hazard_id>/", hazards_views.hazard_detail, name="hazard_detail"),
    path("hazards/<uuid:hazard_id>/edit/", hazards_views.hazard_update, name="hazard_update"),
    path("hazards/<uuid:hazard_id>/rectify/", hazards_views.hazard_rectify, name="hazard_rectify"),
    path(
        "hazards/<uuid:hazard_id>/reinspect/",
        hazards_views.hazard_reinspect,
        name="hazard_reinspect",
    ),
    path(
        "evidence/<uuid:evidence_id>/download/",
        evidence_views.evidence_download,
        name="evidence_download",
    ),
]
