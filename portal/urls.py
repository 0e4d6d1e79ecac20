from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("uploads/local/", views.local_upload, name="local-upload"),
    path("files/local/<str:token>/", views.local_download, name="local-download"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/firm/", views.firm_summary, name="firm-summary"),
    path("reports/statistics.xlsx", views.export_statistics, name="export-statistics"),
    path("reports/monthly-report.docx", views.export_monthly_report, name="export-monthly-report"),
    path("reports/register.xlsx", views.export_register, name="export-register"),
    path("reports/hazards.xlsx", views.export_hazards, name="export-hazards"),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api_urls")),
    path("", include("contractors.urls")),
    path("", include("documents.urls")),
]
