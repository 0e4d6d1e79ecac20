"""The statistics API: the figures of a period, as the dashboard counts them."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api_support import error_responses
from reporting.forms import filter_form, scope_of
from reporting.stats import Statistics


class HazardFiguresSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    production = serializers.IntegerField()
    fire = serializers.IntegerField()
    special_equipment = serializers.IntegerField()
    occupational_health = serializers.IntegerField()
    other = serializers.IntegerField()
    major = serializers.IntegerField()


class StatsSummarySerializer(serializers.Serializer):
    firms_inspected = serializers.IntegerField()
    inspections = serializers.IntegerField()
    hazards = HazardFiguresSerializer()
    rectified = serializers.IntegerField()
    rectification_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text="percent, two decimals, rounded half up"
    )
    overdue = serializers.IntegerField()
    documents_issued = serializers.IntegerField()
    report_text = serializers.CharField()


STATS_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="first inspection date counted (default: 1 January of this year)",
    ),
    OpenApiParameter(
        "to", OpenApiTypes.DATE, description="last inspection date counted (default: today)"
    ),
    OpenApiParameter("street", OpenApiTypes.UUID, description="only firms of this street or town"),
    OpenApiParameter("agency", OpenApiTypes.UUID, description="only the work of this agency"),
]


class StatsSummaryView(APIView):
    """The bureau's figures for a period (reporting.stats has the definitions); an agency manager
    gets its own agency's."""

    @extend_schema(
        operation_id="stats_summary_retrieve",
        tags=["statistics"],
        parameters=STATS_PARAMETERS,
        responses={200: StatsSummarySerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        scope = scope_of(request.user)
        form = filter_form(scope, request.query_params)
        if not form.is_valid():
            raise serializers.ValidationError(
                {
                    field: [error["message"] for error in errors]
                    for field, errors in form.errors.get_json_data().items()
                }
            )
        summary = Statistics(scope, form.filters()).summary()
        return Response(StatsSummarySerializer(summary).data)
