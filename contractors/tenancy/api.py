"""The API of tenancy (agencies, contracts, assignments, the firms' object permissions) (API.md):
access helper, service, response."""

import uuid

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.register.api import KEY_CATEGORY_CHOICES
from contractors.register.selectors import grids_of, parks_of, streets_of
from contractors.tenancy.models import Contract
from contractors.tenancy.selectors import (
    access_contract_by_id,
    agencies_of,
    contracts_visible_to,
    firms_visible_to,
    select_firms_for_assignment,
)
from contractors.tenancy.services import (
    QuotaExceeded,
    do_assign_firms,
    do_create_contract,
    do_unassign_firms,
)
from portal.access import require_role
from portal.api_support import error_responses, paginated_response
from portal.models import AGENCY_ROLES, BUREAU_ROLES, Role


class ContractSerializer(serializers.ModelSerializer):
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    assigned = serializers.IntegerField(
        read_only=True, help_text=gettext_lazy("当前分配给本合同的企业数")
    )

    class Meta:
        model = Contract
        fields = [
            "id",
            "agency",
            "agency_name",
            "number",
            "period_start",
            "period_end",
            "quota",
            "note",
            "assigned",
        ]
        read_only_fields = fields


class ContractCreateSerializer(serializers.ModelSerializer):
    agency = serializers.UUIDField(help_text=gettext_lazy("本局服务机构的 id"))

    class Meta:
        model = Contract
        fields = ["agency", "number", "period_start", "period_end", "quota", "note"]


class AssignSerializer(serializers.Serializer):
    firms = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_empty=False,
        help_text=gettext_lazy("企业的 id"),
    )
    street = serializers.UUIDField(required=False, help_text=gettext_lazy("街道镇的 id"))
    grid = serializers.UUIDField(required=False, help_text=gettext_lazy("网格的 id"))
    park = serializers.CharField(required=False, help_text=gettext_lazy("工业园区的 id 或名称"))
    key_category = serializers.ChoiceField(choices=KEY_CATEGORY_CHOICES, required=False)
    codes = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        allow_empty=False,
        help_text=gettext_lazy("统一社会信用代码"),
    )
    allow_over_quota = serializers.BooleanField(
        default=False, help_text=gettext_lazy("确认超出合同配额也分配")
    )

    CRITERIA = ("firms", "street", "grid", "park", "key_category", "codes")

    def validate(self, data):
        if not data.keys() & set(self.CRITERIA):
            raise serializers.ValidationError(
                _("请至少给出一个选择条件：firms、street、grid、park、key_category 或 codes。")
            )
        return data


class AssignmentResultSerializer(serializers.Serializer):
    assigned = serializers.IntegerField(help_text=gettext_lazy("新分配给本合同的企业数"))
    moved = serializers.IntegerField(help_text=gettext_lazy("其中从其他合同移来的企业数"))
    already = serializers.IntegerField(help_text=gettext_lazy("原本已在本合同的企业数"))


class QuotaExceededSerializer(serializers.Serializer):
    detail = serializers.CharField()
    quota = serializers.IntegerField()
    current = serializers.IntegerField()
    adding = serializers.IntegerField()
    after = serializers.IntegerField()


class UnassignSerializer(serializers.Serializer):
    firms = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=False, help_text=gettext_lazy("企业的 id")
    )


class UnassignResultSerializer(serializers.Serializer):
    unassigned = serializers.IntegerField()


def _agency_of(user, agency_id):
    agency = agencies_of(user).filter(pk=agency_id).first()
    if agency is None:
        raise ValidationError({"agency": _("本局没有这个服务机构。")})
    return agency


def _unknown_firms(user, firm_ids):
    """One message per id that is not on the user's register."""
    known = set(firms_visible_to(user).filter(pk__in=firm_ids).values_list("pk", flat=True))
    return [
        _("%(id)s：企业名录中没有这家企业") % {"id": firm_id}
        for firm_id in dict.fromkeys(firm_ids)
        if firm_id not in known
    ]


def _park_id(user, value):
    """The id of the bureau's park given by id or by name; None when there is no such park."""
    parks = parks_of(user)
    try:
        parks = parks.filter(pk=uuid.UUID(value))
    except ValueError:
        parks = parks.filter(name=value)
    return parks.values_list("pk", flat=True).first()


def _unknown_places(user, criteria):
    """{field: [message]} for a street, grid or park that is not the bureau's."""
    errors = {}
    if "street" in criteria and not streets_of(user).filter(pk=criteria["street"]).exists():
        errors["street"] = [_("本局没有这个街道镇。")]
    if "grid" in criteria and not grids_of(user).filter(pk=criteria["grid"]).exists():
        errors["grid"] = [_("本局没有这个网格。")]
    if "park" in criteria and criteria["park"] is None:
        errors["park"] = [_("本局没有这个工业园区。")]
    return errors


def _selected_firms(user, criteria):
    """The firms every criterion picks. Anything that does not resolve is a 400 listing all of
    it, raised before anything is written."""
    if "park" in criteria:
        criteria = {**criteria, "park": _park_id(user, criteria["park"])}
    errors = _unknown_places(user, criteria)
    unknown = _unknown_firms(user, criteria["firms"]) if "firms" in criteria else []
    if unknown:
        errors["firms"] = unknown
    selection = select_firms_for_assignment(
        user,
        firm_ids=criteria.get("firms"),
        street=criteria.get("street"),
        grid=criteria.get("grid"),
        park=criteria.get("park"),
        key_category=criteria.get("key_category"),
        codes=criteria.get("codes"),
    )
    if selection.problems:
        errors["codes"] = selection.problems
    if errors:
        raise ValidationError(errors)
    return selection.firms


class ContractListView(GenericAPIView):
    @extend_schema(
        operation_id="contracts_list",
        tags=["contracts"],
        responses={200: ContractSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
        return paginated_response(self, contracts_visible_to(request.user), ContractSerializer)

    @extend_schema(
        operation_id="contracts_create",
        tags=["contracts"],
        request=ContractCreateSerializer,
        responses={201: ContractSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request):
        membership = require_role(request.user, Role.BUREAU_ADMIN)
        params = ContractCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        fields = dict(params.validated_data)
        contract = do_create_contract(
            actor=request.user,
            bureau=membership.bureau,
            agency=_agency_of(request.user, fields.pop("agency")),
            **fields,
        )
        created = access_contract_by_id(request.user, contract.pk)
        return Response(ContractSerializer(created).data, status=status.HTTP_201_CREATED)


class ContractDetailView(APIView):
    @extend_schema(
        operation_id="contracts_retrieve",
        tags=["contracts"],
        responses={200: ContractSerializer, **error_responses(401, 404)},
    )
    def get(self, request, contract_id):
        return Response(ContractSerializer(access_contract_by_id(request.user, contract_id)).data)


class ContractAssignView(APIView):
    @extend_schema(
        operation_id="contracts_assign",
        tags=["contracts"],
        request=AssignSerializer,
        responses={
            200: AssignmentResultSerializer,
            409: QuotaExceededSerializer,
            **error_responses(400, 401, 403, 404),
        },
    )
    def post(self, request, contract_id):
        contract = access_contract_by_id(request.user, contract_id)
        require_role(request.user, Role.BUREAU_ADMIN)
        params = AssignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        criteria = dict(params.validated_data)
        allow_over_quota = criteria.pop("allow_over_quota")
        try:
            result = do_assign_firms(
                actor=request.user,
                contract=contract,
                firms=_selected_firms(request.user, criteria),
                allow_over_quota=allow_over_quota,
            )
        except QuotaExceeded as refused:
            return Response(
                {"detail": str(refused), **refused.usage}, status=status.HTTP_409_CONFLICT
            )
        return Response(AssignmentResultSerializer(result).data)


class ContractUnassignView(APIView):
    @extend_schema(
        operation_id="contracts_unassign",
        tags=["contracts"],
        request=UnassignSerializer,
        responses={200: UnassignResultSerializer, **error_responses(400, 401, 403, 404)},
    )
    def post(self, request, contract_id):
        contract = access_contract_by_id(request.user, contract_id)
        require_role(request.user, Role.BUREAU_ADMIN)
        params = UnassignSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        firm_ids = params.validated_data["firms"]
        unknown = _unknown_firms(request.user, firm_ids)
        if unknown:
            raise ValidationError({"firms": unknown})
        unassigned = do_unassign_firms(
            actor=request.user,
            contract=contract,
            firms=firms_visible_to(request.user).filter(pk__in=firm_ids),
        )
        return Response({"unassigned": unassigned})
