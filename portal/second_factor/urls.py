from django.urls import path

from portal.second_factor import views

app_name = "second_factor"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("recovery-codes/new/", views.new_recovery_codes, name="new_recovery_codes"),
    path("", views.account, name="account"),
    path("tokens/<uuid:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("staff/", views.staff, name="staff"),
    path("staff/<uuid:member_id>/reset/", views.reset, name="reset"),
]
