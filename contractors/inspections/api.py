"""The API of inspections (start, answer the checklist, submit, accept or return) (API.md): access
helper, service, response."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.hazards.api import HazardCreateSerializer, HazardSerializer, hazard_data
from contractors.hazards.models import HazardCategory
from contractors.hazards.selectors import hazards_visible_to
from contractors.hazards.services import do_record_hazard
from contractors.inspections.models import ChecklistAnswer, Inspection
from contractors.inspections.selectors import (
    access_inspection_by_id,
    checklist_with_answers,
    inspections_visible_to,
)
from contractors.inspections.services import (
    do_answer_item,
    do_start_inspection,
    do_submit_inspection,
    do_update_inspection,
)
from contractors.tenancy.selectors import firms_visible_to
from portal.api_support import ServiceErrorsMixin, error_responses, paginated_response, parsed

CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?")


@extend_schema_field({"type": "string", "pattern": f"^{CLOCK_TIME.pattern}$", "example": "09:30"})
class ClockTimeField(serializers.TimeField):
    """The time of day on the inspection's own clock, as the record prints it: `HH:MM[:SS]`, no
    offset. The schema's `format: time` would promise RFC 3339 with an offset, which this never
    was; and Django drops an offset it is sent, so a time with one is refused, not misread."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not CLOCK_TIME.fullmatch(value):
            self.fail("invalid", format="hh:mm[:ss]")
        return super().to_internal_value(value)


class ChecklistEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    category = serializers.ChoiceField(choices=HazardCategory.choices, read_only=True)
    text = serializers.CharField(read_only=True)
    legal_basis = serializers.CharField(read_only=True)
    requirement = serializers.CharField(read_only=True)
    answer = serializers.ChoiceField(
        choices=ChecklistAnswer.Answer.choices,
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("检查结果，未填写时为 null"),
    )
    note = serializers.CharField(source="answer_note", read_only=True, allow_null=True)
    hazard = serializers.UUIDField(
        source="hazard_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("由该项登记的隐患的 id"),
    )


class InspectionSerializer(serializers.ModelSerializer):
    firm_name = serializers.CharField(source="firm.name", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    checklist_version = serializers.IntegerField(source="checklist.version", read_only=True)
    inspector_names = serializers.SlugRelatedField(
        source="inspectors", slug_field="full_name", many=True, read_only=True
    )
    latitude = serializers.FloatField(read_only=True, allow_null=True)
    longitude = serializers.FloatField(read_only=True, allow_null=True)
    time_from = ClockTimeField(read_only=True, allow_null=True)
    time_to = ClockTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "firm",
            "firm_name",
            "agency",
            "agency_name",
            "contract",
            "checklist_version",
            "kind",
            "campaign",
            "status",
            "inspected_on",
            "time_from",
            "time_to",
            "inspectors",
            "inspector_names",
            "firm_representative",
            "firm_representative_post",
            "firm_representative_phone",
            "place",
            "latitude",
            "longitude",
            "return_reason",
            "created_by",
            "created_at",
            "submitted_at",
        ]
        read_only_fields = fields


class InspectionDetailSerializer(InspectionSerializer):
    checklist = ChecklistEntrySerializer(source="checklist_entries", many=True, read_only=True)
    hazards = HazardSerializer(source="visible_hazards", many=True, read_only=True)

    class Meta(InspectionSerializer.Meta):
        fields = [*InspectionSerializer.Meta.fields, "checklist", "hazards"]
        read_only_fields = fields


class SubmittedInspectionSerializer(InspectionDetailSerializer):
    documents = serializers.ListField(
        source="drafted_document_ids",
        child=serializers.UUIDField(),
        read_only=True,
        help_text=gettext_lazy("本次提交起草的待审核文书的 id"),
    )

    class Meta(InspectionDetailSerializer.Meta):
        fields = [*InspectionDetailSerializer.Meta.fields, "documents"]
        read_only_fields = fields


class InspectionUpdateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Inspection.Kind.choices)
    campaign = serializers.CharField(required=False, allow_blank=True)
    inspected_on = serializers.DateField()
    time_from = ClockTimeField(required=False, allow_null=True)
    time_to = ClockTimeField(required=False, allow_null=True)
    inspectors = serializers.ListField(
        child=serializers.UUIDField(),
        help_text=gettext_lazy("本机构检查人员的用户 id，至少两人"),
    )
    firm_representative = serializers.CharField(
        allow_blank=True, help_text=gettext_lazy("企业在场人员姓名")
    )
    firm_representative_post = serializers.CharField(required=False, allow_blank=True)
    firm_representative_phone = serializers.CharField(required=False, allow_blank=True)
    place = serializers.CharField(required=False, allow_blank=True)
    # Floats: a phone reports more decimals than are kept, and the service rounds them.
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)


class InspectionCreateSerializer(InspectionUpdateSerializer):
    firm = serializers.UUIDField(help_text=gettext_lazy("企业的 id"))


class InspectionFilterSerializer(serializers.Serializer):
    firm = serializers.UUIDField(required=False, help_text=gettext_lazy("企业的 id"))
    status = serializers.ChoiceField(choices=Inspection.Status.choices, required=False)
    agency = serializers.UUIDField(required=False, help_text=gettext_lazy("服务机构的 id"))


class AnswerSerializer(serializers.Serializer):
    item = serializers.UUIDField(help_text=gettext_lazy("本次检查所用检查表中检查项的 id"))
    answer = serializers.ChoiceField(choices=ChecklistAnswer.Answer.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _visible_firm(user, firm_id):
    """The firm named in a request body; the same 400 for a missing firm and one not visible."""
    firm = firms_visible_to(user).filter(pk=firm_id).first()
    if firm is None:
        raise ValidationError({"firm": _("找不到这家企业，或本机构目前不负责这家企业。")})
    return firm


def _checklist_item(inspection, item_id):
    """An item of the checklist version the inspection uses (a 400 on `item` otherwise)."""
    item = checklist_with_answers(inspection).filter(pk=item_id).first()
    if item is None:
        raise ValidationError({"item": _("该检查项不属于本次检查使用的检查表。")})
    return item


def _detailed_inspection(user, inspection_id):
    inspection = access_inspection_by_id(user, inspection_id)
    inspection.checklist_entries = list(checklist_with_answers(inspection))
    inspection.visible_hazards = list(
        hazards_visible_to(user).filter(inspection=inspection).order_by("created_at")
    )
    return inspection


def _inspection_detail(user, inspection_id):
    return InspectionDetailSerializer(_detailed_inspection(user, inspection_id)).data


def _filtered_inspections(user, filters):
    inspections = inspections_visible_to(user)
    if "firm" in filters:
        inspections = inspections.filter(firm_id=filters["firm"])
    if "status" in filters:
        inspections = inspections.filter(status=filters["status"])
    if "agency" in filters:
        inspections = inspections.filter(agency_id=filters["agency"])
    return inspections.order_by("-inspected_on", "-created_at", "pk")


TAGS = ["inspections"]


class InspectionListView(ServiceErrorsMixin, GenericAPIView):
    @extend_schema(
        operation_id="inspections_list",
        tags=TAGS,
        parameters=[InspectionFilterSerializer],
        responses={200: InspectionSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = parsed(InspectionFilterSerializer, request.query_params)
        return paginated_response(
            self, _filtered_inspections(request.user, filters), InspectionSerializer
        )

    @extend_schema(
        operation_id="inspections_create",
        tags=TAGS,
        request=InspectionCreateSerializer,
        responses={201: InspectionDetailSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request):
        fields = parsed(InspectionCreateSerializer, request.data)
        firm = _visible_firm(request.user, fields.pop("firm"))
        inspection = do_start_inspection(actor=request.user, firm=firm, **fields)
        return Response(
            _inspection_detail(request.user, inspection.pk), status=status.HTTP_201_CREATED
        )


class InspectionDetailView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_retrieve",
        tags=TAGS,
        responses={200: InspectionDetailSerializer, **error_responses(401, 404)},
    )
    def get(self, request, inspection_id):
        return Response(_inspection_detail(request.user, inspection_id))

    @extend_schema(
        operation_id="inspections_partial_update",
        tags=TAGS,
        request=InspectionUpdateSerializer,
        responses={200: InspectionDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(InspectionUpdateSerializer, request.data, partial=True)
        do_update_inspection(actor=request.user, inspection=inspection, **fields)
        return Response(_inspection_detail(request.user, inspection.pk))


class InspectionAnswerView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_answer",
        tags=TAGS,
        request=AnswerSerializer,
        responses={200: ChecklistEntrySerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(AnswerSerializer, request.data)
        item = _checklist_item(inspection, fields.pop("item"))
        do_answer_item(actor=request.user, inspection=inspection, item=item, **fields)
        return Response(ChecklistEntrySerializer(_checklist_item(inspection, item.pk)).data)


class InspectionSubmitView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_submit",
        tags=TAGS,
        request=None,
        responses={
            200: SubmittedInspectionSerializer,
            **error_responses(400, 401, 403, 404, 409),
        },
        description=gettext_lazy(
            "提交检查，起草现场检查记录和（有待整改隐患时）责令限期整改指令书，交机关审核。"
        ),
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        submitted = do_submit_inspection(actor=request.user, inspection=inspection)
        detail = _detailed_inspection(request.user, inspection.pk)
        detail.drafted_document_ids = [document.pk for document in submitted.drafted_documents]
        return Response(SubmittedInspectionSerializer(detail).data)


class InspectionHazardView(ServiceErrorsMixin, APIView):
    @extend_schema(
        operation_id="inspections_hazards_create",
        tags=TAGS,
        request=HazardCreateSerializer,
        responses={201: HazardSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, inspection_id):
        inspection = access_inspection_by_id(request.user, inspection_id)
        fields = parsed(HazardCreateSerializer, request.data)
        item_id = fields.pop("item", None)
        item = _checklist_item(inspection, item_id) if item_id else None
        hazard = do_record_hazard(actor=request.user, inspection=inspection, item=item, **fields)
        return Response(hazard_data(request.user, hazard.pk), status=status.HTTP_201_CREATED)
