from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from contractors.evidence import api as evidence_api
from contractors.hazards import api as hazards_api
from contractors.inspections import api as inspections_api
from contractors.register import api as register_api
from contractors.tenancy import api as tenancy_api
from documents.delivery import api as delivery_api
from documents.review import api as review_api
from portal import api as portal_api
from portal.second_factor import api as second_factor_api
from reporting import api as reporting_api

urlpatterns = [
    path("v1/auth/token/", portal_api.TokenView.as_view(), name="api-token"),
    path("v1/auth/tokens/", second_factor_api.ApiTokenListView.as_view(), name="api-tokens"),
    path(
        "v1/auth/tokens/<uuid:token_id>/",
        second_factor_api.ApiTokenDetailView.as_view(),
        name="api-token-detail",
    ),
    path("v1/me/", portal_api.MeView.as_view(), name="api-me"),
    path("v1/users/", portal_api.UserListView.as_view(), name="api-users"),
    path("v1/firms/", register_api.FirmListView.as_view(), name="api-firms"),
    path("v1/firms/import/", register_api.FirmImportView.as_view(), name="api-firms-import"),
    path("v1/firms/<uuid:firm_id>/", register_api.FirmDetailView.as_view(), name="api-firm"),
    path("v1/streets/", register_api.StreetListView.as_view(), name="api-streets"),
    path("v1/parks/", register_api.ParkListView.as_view(), name="api-parks"),
    path("v1/contracts/", tenancy_api.ContractListView.as_view(), name="api-contracts"),
    path(
        "v1/contracts/<uuid:contract_id>/",
        tenancy_api.ContractDetailView.as_view(),
        name="api-contract",
    ),
    path(
        "v1/contracts/<uuid:contract_id>/assign/",
        tenancy_api.ContractAssignView.as_view(),
        name="api-contract-assign",
    ),
    path(
        "v1/contracts/<uuid:contract_id>/unassign/",
        tenancy_api.ContractUnassignView.as_view(),
        name="api-contract-unassign",
    ),
    path("v1/inspections/", inspections_api.InspectionListView.as_view(), name="api-inspections"),
    path(
        "v1/inspections/<uuid:inspection_id>/",
        inspections_api.InspectionDetailView.as_view(),
        name="api-inspection",
    ),
    path(
        "v1/inspections/<uuid:inspection_id>/answers/",
        inspections_api.InspectionAnswerView.as_view(),
        name="api-inspection-answers",
    ),
    path(
        "v1/inspections/<uuid:inspection_id>/hazards/",
        inspections_api.InspectionHazardView.as_view(),
        name="api-inspection-hazards",
    ),
    path(
        "v1/inspections/<uuid:inspection_id>/submit/",
        inspections_api.InspectionSubmitView.as_view(),
        name="api-inspection-submit",
    ),
    path("v1/hazards/", hazards_api.HazardListView.as_view(), name="api-hazards"),
    path(
        "v1/hazards/<uuid:hazard_id>/",
        hazards_api.HazardDetailView.as_view(),
        name="api-hazard",
    ),
    path(
        "v1/hazards/<uuid:hazard_id>/rectify/",
        hazards_api.HazardRectifyView.as_view(),
        name="api-hazard-rectify",
    ),
    path(
        "v1/hazards/<uuid:hazard_id>/reinspect/",
        hazards_api.HazardReinspectView.as_view(),
        name="api-hazard-reinspect",
    ),
    path(
        "v1/evidence/uploads/",
        evidence_api.EvidenceUploadView.as_view(),
        name="api-evidence-uploads",
    ),
    path(
        "v1/evidence/<uuid:evidence_id>/",
        evidence_api.EvidenceDetailView.as_view(),
        name="api-evidence",
    ),
    path(
        "v1/evidence/<uuid:evidence_id>/confirm/",
        evidence_api.EvidenceConfirmView.as_view(),
        name="api-evidence-confirm",
    ),
    path(
        "v1/evidence/<uuid:evidence_id>/download/",
        evidence_api.EvidenceDownloadView.as_view(),
        name="api-evidence-download",
    ),
    path("v1/documents/", review_api.DocumentListView.as_view(), name="api-documents"),
    path(
        "v1/documents/<uuid:document_id>/",
        review_api.DocumentDetailView.as_view(),
        name="api-document",
    ),
    path(
        "v1/documents/<uuid:document_id>/approve/",
        review_api.DocumentApproveView.as_view(),
        name="api-document-approve",
    ),
    path(
        "v1/documents/<uuid:document_id>/reject/",
        review_api.DocumentRejectView.as_view(),
        name="api-document-reject",
    ),
    path(
        "v1/documents/<uuid:document_id>/download/",
        delivery_api.DocumentDownloadView.as_view(),
        name="api-document-download",
    ),
    path(
        "v1/documents/<uuid:document_id>/acknowledge/",
        delivery_api.DocumentAcknowledgeView.as_view(),
        name="api-document-acknowledge",
    ),
    path("v1/stats/summary/", reporting_api.StatsSummaryView.as_view(), name="api-stats-summary"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
