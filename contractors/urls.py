from django.urls import path

from contractors import views

app_name = "contractors"

urlpatterns = [
    path("firms/", views.firm_list, name="firm_list"),
    path("firms/share-out/", views.firm_share_out, name="firm_share_out"),
    path("firms/<uuid:firm_id>/", views.firm_detail, name="firm_detail"),
    path("register/import/", views.register_import, name="register_import"),
    path(
        "register/import/<uuid:import_id>/",
        views.register_import_detail,
        name="register_import_detail",
    ),
    path(
        "register/import/<uuid:import_id>/commit/",
        views.register_import_commit,
        name="register_import_commit",
    ),
    path("contracts/", views.contract_list, name="contract_list"),
    path("contracts/new/", views.contract_create, name="contract_create"),
    path("contracts/<uuid:contract_id>/", views.contract_detail, name="contract_detail"),
    path("contracts/<uuid:contract_id>/assign/", views.contract_assign, name="contract_assign"),
    path(
        "contracts/<uuid:contract_id>/unassign/",
        views.contract_unassign,
        name="contract_unassign",
    ),
    path("my-firms/", views.my_firms, name="my_firms"),
    path("firms/<uuid:firm_id>/inspections/", views.firm_inspections, name="firm_inspections"),
    path("inspections/", views.inspection_list, name="inspection_list"),
    path(
        "inspections/<uuid:inspection_id>/",
        views.inspection_detail,
        name="inspection_detail",
    ),
    path(
        "inspections/<uuid:inspection_id>/answer/",
        views.inspection_answer,
        name="inspection_answer",
    ),
    path(
        "inspections/<uuid:inspection_id>/hazards/",
        views.inspection_hazard_create,
        name="inspection_hazard_create",
    ),
    path(
        "inspections/<uuid:inspection_id>/review/",
        views.inspection_review,
        name="inspection_review",
    ),
    path(
        "inspections/<uuid:inspection_id>/submit/",
        views.inspection_submit,
        name="inspection_submit",
    ),
    path("hazards/", views.hazard_list, name="hazard_list"),
    path("hazards/<uuid:hazard_id>/", views.hazard_detail, name="hazard_detail"),
    path("hazards/<uuid:hazard_id>/edit/", views.hazard_update, name="hazard_update"),
    path("hazards/<uuid:hazard_id>/rectify/", views.hazard_rectify, name="hazard_rectify"),
    path("hazards/<uuid:hazard_id>/reinspect/", views.hazard_reinspect, name="hazard_reinspect"),
    path(
        "evidence/<uuid:evidence_id>/download/",
        views.evidence_download,
        name="evidence_download",
    ),
]
