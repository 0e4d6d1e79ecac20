from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from contractors import api as contractors_api
from portal import api as portal_api

urlpatterns = [
    path("v1/auth/token/", portal_api.TokenView.as_view(), name="api-token"),
    path("v1/me/", portal_api.MeView.as_view(), name="api-me"),
    path("v1/users/", portal_api.UserListView.as_view(), name="api-users"),
    path("v1/firms/", contractors_api.FirmListView.as_view(), name="api-firms"),
    path("v1/firms/import/", contractors_api.FirmImportView.as_view(), name="api-firms-import"),
    path("v1/firms/<uuid:firm_id>/", contractors_api.FirmDetailView.as_view(), name="api-firm"),
    path("v1/streets/", contractors_api.StreetListView.as_view(), name="api-streets"),
    path("v1/parks/", contractors_api.ParkListView.as_view(), name="api-parks"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
