from django.urls import path

from contractors import views

app_name = "contractors"

urlpatterns = [
    path("firms/", views.firm_list, name="firm_list"),
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
]
