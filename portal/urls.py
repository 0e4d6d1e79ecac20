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
    path("admin/", admin.site.urls),
    path("api/", include("portal.api_urls")),
    path("", include("contractors.urls")),
]
