"""The API of hazards (record, edit, rectify, re-inspect, mark overdue) (API.md): access helper,
service, response."""

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.hazards.models import Hazard, HazardCategory, HazardLevel
from contractors.hazards.selectors import access_hazard_by_id, hazards_visible_to
from contractors.hazards.services import (
    do_rectify_hazard,
    do_reinspect_hazard,
    do_update_hazard,
)
from portal.api_support import ServiceErrorsMixin, error_responses, paginated_response, parsed


class HazardSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)

    class Meta:
        model = Hazard
        fields = [
            "id",
            "inspection",
            "firm",
            "firm_name",
            "item",
            "category",
            "level",
            "description",
            "location",
            "legal_basis",
            "requirement",
            "deadline",
            "status",
            "rectified_on_spot",
            "rectification_note",
            "rectified_at",
            "reinspection_note",
            "verified_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HazardUpdateSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=HazardCategory.choices)
    level = serializers.ChoiceField(choices=HazardLevel.choices)
    description = serializers.CharField(allow_blank=True)
    location = serializers.CharField(required=False, allow_blank=True)
    legal_basis = serializers.CharField(required=False, allow_blank=True)
    requirement = serializers.CharField(required=False, allow_blank=True)
    deadline = serializers.DateField()
    rectified_on_spot = serializers.BooleanField(
        required=False, help_text=gettext_lazy("当场整改（仅限一般事故隐患，须有整改后照片）")
    )


class HazardCreateSerializer(HazardUpdateSerializer):
    item = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("发现该隐患的检查项的 id"),
    )


class ReinspectedHazardSerializer(HazardSerializer):
    document = serializers.UUIDField(
        source="drafted_opinion_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("起草或更新的整改复查意见书的 id；没有时为 null"),
    )

    class Meta(HazardSerializer.Meta):
        fields = [*HazardSerializer.Meta.fields, "document"]
        read_only_fields = fields


class HazardFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Hazard.Status.choices, required=False)
    firm = serializers.UUIDField(required=False, help_text=gettext_lazy("企业的 id"))
    inspection = serializers.UUIDField(required=False, help_text=gettext_lazy("检查的 id"))


class EvidenceIdsField(serializers.ListField):
    child = serializers.UUIDField()

    def __init__(self, **kwargs):
        super().__init__(
            required=False,
            default=list,
            help_text=gettext_lazy("已确认的证据材料的 id"),
            **kwargs,
        )


class RectifySerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, help_text=gettext_lazy("整改情况"))
    evidence = EvidenceIdsField()


class ReinspectSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text=gettext_lazy("复查是否通过"))
    note = serializers.CharField(
        required=False, allow_blank=True, default="", help_text=gettext_lazy("复查意见")
    )
    evidence = EvidenceIdsField()
    deadline = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=gettext_lazy("未通过时的新整改期限（未通过时必填）"),
    )


def hazard_data(user, hazard_id):
    return HazardSerializer(access_hazard_by_id(user, hazard_id)).data


def _filtered_hazards(user, filters):
    hazards = hazards_visible_to(user)
    if "status" in filters:
        hazards = hazards.filter(status=filters["status"])
    if "firm" in filters:
        hazards = hazards.filter(firm_id=filters["firm"])
    if "inspection" in filters:
        hazards = hazards.filter(inspection_id=filters["inspection"])
    return hazards.order_by("deadline", "created_at", "pk")


HAZARD_TAGS = ["hazards"]


class HazardListView(GenericAPIView):
    @extend_schema(
        operation_id="hazards_list",
        tags=HAZARD_TAGS,
        parameters=[HazardFilterSerializer],
        responses={200: HazardSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = parsed(HazardFilterSerializer, request.query_params)
        return paginated_response(self, _filtered_hazards(request.user, filters), HazardSerializer)


class HazardDetailView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_retrieve",
        tags=HAZARD_TAGS,
        responses={200: HazardSerializer, **error_responses(401, 404)},
    )
    def get(self, request, hazard_id):
        return Response(hazard_data(request.user, hazard_id))

    @extend_schema(
        operation_id="hazards_partial_update",
        tags=HAZARD_TAGS,
        request=HazardUpdateSerializer,
        responses={200: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(HazardUpdateSerializer, request.data, partial=True)
        do_update_hazard(actor=request.user, hazard=hazard, **fields)
        return Response(hazard_data(request.user, hazard.pk))


class HazardRectifyView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_rectify",
        tags=HAZARD_TAGS,
        request=RectifySerializer,
        responses={200: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(RectifySerializer, request.data)
        do_rectify_hazard(actor=request.user, hazard=hazard, **fields)
        return Response(hazard_data(request.user, hazard.pk))


class HazardReinspectView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="hazards_reinspect",
        tags=HAZARD_TAGS,
        request=ReinspectSerializer,
        responses={200: ReinspectedHazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, hazard_id):
        hazard = access_hazard_by_id(request.user, hazard_id)
        fields = parsed(ReinspectSerializer, request.data)
        reinspected = do_reinspect_hazard(actor=request.user, hazard=hazard, **fields)
        shown = access_hazard_by_id(request.user, hazard.pk)
        # The opinion is drafted in the re-inspecting agency's name, so its author may see it.
        opinion = reinspected.drafted_opinion
        shown.drafted_opinion_id = opinion.pk if opinion else None
        return Response(ReinspectedHazardSerializer(shown).data)
