"""The API of the enterprise register (streets, grids, parks, firms, register imports) (API.md):
access helper, service, response."""

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from contractors.register.models import NOT_KEY_SUPERVISED, Firm, KeyCategory, Park, Street
from contractors.register.selectors import parks_of, search_firms, streets_of
from contractors.register.services import do_import_register
from contractors.tenancy.selectors import access_firm_by_id
from portal.access import membership_of, require_role
from portal.api_support import FieldErrorsSerializer, error_responses, paginated_response
from portal.models import AGENCY_ROLES, BUREAU_ROLES, Role

KEY_CATEGORY_CHOICES = [(c.value, c.label) for c in KeyCategory if c.value] + [
    (NOT_KEY_SUPERVISED, gettext_lazy("非重点监管"))
]


class FirmSerializer(serializers.ModelSerializer):
    street_name = serializers.CharField(source="street.name", read_only=True)
    grid = serializers.CharField(source="grid.name", read_only=True, allow_null=True)
    park = serializers.CharField(source="park.name", read_only=True, allow_null=True)
    # Not read-only although nobody writes it: the schema marks read-only fields as always
    # present, and firm users never get this one.
    agency = serializers.UUIDField(
        source="current_agency_id",
        required=False,
        allow_null=True,
        help_text=gettext_lazy("当前服务机构的 id，未分配时为 null；企业用户看不到此字段"),
    )

    class Meta:
        model = Firm
        fields = [
            "id",
            "uscc",
            "name",
            "address",
            "street",
            "street_name",
            "grid",
            "park",
            "industry",
            "key_category",
            "key_kind",
            "legal_representative",
            "contact",
            "phone",
            "agency",
        ]
        read_only_fields = fields


class OwnFirmSerializer(FirmSerializer):
    """A firm as its own users see it: which agency inspects it is the bureau's business."""

    agency = None

    class Meta(FirmSerializer.Meta):
        fields = [name for name in FirmSerializer.Meta.fields if name != "agency"]
        read_only_fields = fields


def _firm_serializer_for(user):
    membership = membership_of(user)
    if membership is not None and membership.role == Role.FIRM_USER:
        return OwnFirmSerializer
    return FirmSerializer


class FirmFilterSerializer(serializers.Serializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("企业名称或统一社会信用代码的一部分"),
    )
    street = serializers.UUIDField(required=False, help_text=gettext_lazy("街道镇的 id"))
    park = serializers.UUIDField(required=False, help_text=gettext_lazy("工业园区的 id"))
    key_category = serializers.ChoiceField(
        choices=KEY_CATEGORY_CHOICES, required=False, allow_blank=True
    )
    agency = serializers.UUIDField(
        required=False, help_text=gettext_lazy("服务机构的 id：只列出当前分配给该机构的企业")
    )


class StreetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Street
        fields = ["id", "name", "code", "kind"]
        read_only_fields = fields


class RegisterImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=False)
    valid_only = serializers.BooleanField(default=False)

    def validate_file(self, upload):
        if upload.size > settings.REGISTER_IMPORT_MAX_BYTES:
            # Refused before reading it into memory: the service would only see it afterwards.
            raise serializers.ValidationError(
                _("文件过大（%(size)s），上限为%(limit)s。")
                % {
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(settings.REGISTER_IMPORT_MAX_BYTES),
                }
            )
        return upload


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class RegisterImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)


class FirmListView(GenericAPIView):
    @extend_schema(
        operation_id="firms_list",
        tags=["register"],
        parameters=[FirmFilterSerializer],
        responses={200: FirmSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request):
        filters = FirmFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        firms = search_firms(request.user, **filters.validated_data)
        return paginated_response(self, firms, _firm_serializer_for(request.user))


class FirmDetailView(APIView):
    @extend_schema(
        operation_id="firms_retrieve",
        tags=["register"],
        responses={200: FirmSerializer, **error_responses(401, 404)},
    )
    def get(self, request, firm_id):
        firm = access_firm_by_id(request.user, firm_id)
        return Response(_firm_serializer_for(request.user)(firm).data)


class StreetListView(GenericAPIView):
    @extend_schema(
        operation_id="streets_list",
        tags=["register"],
        responses={200: StreetSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
        return paginated_response(self, streets_of(request.user), StreetSerializer)


class ParkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Park
        fields = ["id", "name"]
        read_only_fields = fields


class ParkListView(GenericAPIView):
    @extend_schema(
        operation_id="parks_list",
        tags=["register"],
        responses={200: ParkSerializer(many=True), **error_responses(401, 403)},
    )
    def get(self, request):
        require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
        return paginated_response(self, parks_of(request.user), ParkSerializer)


class FirmImportView(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="firms_import",
        tags=["register"],
        request={"multipart/form-data": RegisterImportUploadSerializer},
        responses={
            200: RegisterImportReportSerializer,
            400: PolymorphicProxySerializer(
                component_name="RegisterImportFailure",
                serializers=[RegisterImportReportSerializer, FieldErrorsSerializer],
                resource_type_field_name=None,
            ),
            **error_responses(401, 403),
        },
    )
    def post(self, request):
        membership = require_role(request.user, Role.BUREAU_ADMIN)
        params = RegisterImportUploadSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["file"]
        dry_run = params.validated_data["dry_run"]
        valid_only = params.validated_data["valid_only"]
        report = do_import_register(
            actor=request.user,
            bureau=membership.bureau,
            content=upload.read(),
            filename=upload.name,
            dry_run=dry_run,
            valid_only=valid_only,
        )
        body = report.as_dict()
        # Without valid_only a single bad row rejects the whole file: nothing was written.
        rejected = bool(body["errors"]) and not dry_run and not valid_only
        return Response(
            body, status=status.HTTP_400_BAD_REQUEST if rejected else status.HTTP_200_OK
        )
