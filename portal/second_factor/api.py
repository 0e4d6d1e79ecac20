"""The owner's API tokens: list them (never their keys) and revoke one."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api_support import error_responses
from portal.second_factor.selectors import access_api_token_by_id, api_tokens_of, token_public_id
from portal.second_factor.services import do_revoke_api_token


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    created = serializers.DateTimeField()

    def get_id(self, token) -> str:
        return str(token_public_id(token))


class ApiTokenListView(APIView):
    @extend_schema(
        operation_id="auth_tokens_list",
        tags=["auth"],
        description="The caller's own API tokens: a public id and when issued, never the key.",
        responses={200: ApiTokenSerializer(many=True), **error_responses(401)},
    )
    def get(self, request):
        return Response(ApiTokenSerializer(api_tokens_of(request.user), many=True).data)


class ApiTokenDetailView(APIView):
    @extend_schema(
        operation_id="auth_token_destroy",
        tags=["auth"],
        description="Revoke one of the caller's own tokens; another user's token is 404.",
        responses={204: None, **error_responses(401, 404)},
    )
    def delete(self, request, token_id):
        token = access_api_token_by_id(request.user, token_id)
        do_revoke_api_token(actor=request.user, token=token)
        return Response(status=204)
