"""The API of who is asking: tokens, the current user, the members one may list."""

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from portal.access import require_role
from portal.accounts.services import do_record_login_succeeded
from portal.api_support import error_responses, paginated_response
from portal.models import AGENCY_ROLES, BUREAU_ROLES, OrganisationKind, Role
from portal.second_factor.api_support import check_token_second_factor
from portal.selectors import users_visible_to
from portal.services import do_issue_api_token


class TokenCredentialsSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="A 6-digit TOTP code or a recovery code; required once the user has a second "
        "factor, and for the roles that must have one.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class OrganisationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organisation.id")
    kind = serializers.ChoiceField(choices=OrganisationKind.choices)
    name = serializers.CharField(source="organisation.name")


class UserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    role = serializers.ChoiceField(source="membership.role", choices=Role.choices, allow_null=True)
    organisation = OrganisationSerializer(source="membership", allow_null=True)


class UserFilterSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False)


class TokenView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        request=TokenCredentialsSerializer,
        responses={200: TokenSerializer, **error_responses(400, 429)},
    )
    def post(self, request):
        credentials = TokenCredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        otp = credentials.validated_data.pop("otp", "")
        # Django's own request: django-axes counts the failure on it, and its middleware answers
        # a lockout (portal/accounts/lockout.py), shared with the login page.
        user = authenticate(request._request, **credentials.validated_data)
        if user is None:
            raise serializers.ValidationError(_("用户名或密码错误"))
        check_token_second_factor(user, otp, request=request._request)
        do_record_login_succeeded(actor=user, via="token")
        return Response({"token": do_issue_api_token(actor=user).key})


class MeView(APIView):
    @extend_schema(
        operation_id="me_retrieve",
        tags=["users"],
        responses={200: UserSerializer, **error_responses(401)},
    )
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class UserListView(GenericAPIView):
    @extend_schema(
        operation_id="users_list",
        tags=["users"],
        parameters=[UserFilterSerializer],
        responses={200: UserSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        require_role(request.user, *BUREAU_ROLES, *AGENCY_ROLES)
        filters = UserFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        users = users_visible_to(request.user, **filters.validated_data)
        return paginated_response(self, users, UserSerializer)
