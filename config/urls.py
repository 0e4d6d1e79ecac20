from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import api_support, health
from portal import views as portal_views
from reporting import views as reporting_views

urlpatterns = [
    path("", reporting_views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("portal.accounts.urls")),
    path("accounts/security/", include("portal.second_factor.urls")),
    path("uploads/local/", portal_views.local_upload, name="local-upload"),
    path("files/local/<str:token>/", portal_views.local_download, name="local-download"),
    path("dashboard/", reporting_views.dashboard, name="dashboard"),
    path("dashboard/firm/", reporting_views.firm_summary, name="firm-summary"),
    path("reports/statistics.xlsx", reporting_views.export_statistics, name="export-statistics"),
    path(
        "reports/monthly-report.docx",
        reporting_views.export_monthly_report,
        name="export-monthly-report",
    ),
    path("reports/register.xlsx", reporting_views.export_register, name="export-register"),
    path("reports/hazards.xlsx", reporting_views.export_hazards, name="export-hazards"),
    path("admin/", admin.site.urls),
    path("audit/", include("portal.audit.urls")),
    path("api/", include("config.api_urls")),
    path("", include("contractors.urls")),
    path("", include("documents.urls")),
]

# The API answers a URL no route takes (a malformed identifier) in its own JSON error shape.
handler404 = api_support.not_found
