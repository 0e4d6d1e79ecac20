from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("lockouts/", views.lockout_list, name="lockouts"),
    path("lockouts/lift/", views.lockout_lift, name="lockout_lift"),
    path("password/", views.password_change, name="password_change"),
]
