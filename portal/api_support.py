"""What every API endpoint shares: pagination and the error shapes of the API contract."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from portal.validation import InvalidTransition


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def paginated_response(view, queryset, serializer_class):
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True).data)


def parsed(serializer_class, data, *, partial=False):
    """The validated fields of `data` (a body or query parameters); 400 with the field errors."""
    params = serializer_class(data=data, partial=partial)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


def exception_handler(exc, context):
    """DRF's handler, with bad input as `{"errors": {field: [messages]}}` and 401 when not
    logged in."""
    if isinstance(exc, DjangoValidationError):
        # Services raise Django's ValidationError; the client must see it as bad input, not 500.
        exc = exceptions.ValidationError(_detail_of(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _by_field(response.data)}
    elif isinstance(exc, exceptions.ParseError):
        # A body that is not JSON (or not multipart) is bad input like any other: the one 400
        # shape the schema documents, not DRF's `{"detail"}`.
        response.data = {"errors": {api_settings.NON_FIELD_ERRORS_KEY: [str(exc.detail)]}}
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # Session authentication comes first and offers no challenge, so DRF would answer 403;
        # the contract says 401, and the token scheme is the challenge a client can meet.
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = TokenAuthentication.keyword
    return response


def not_found(request, exception):
    """The site's 404 (`handler404`): under /api/ the JSON error shape of the contract, also for
    a URL no route takes (an identifier that is not a UUID); Django's page elsewhere."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(exceptions.NotFound.default_detail)}, status=404)
    return defaults.page_not_found(request, exception)


def _detail_of(exc):
    if not hasattr(exc, "error_dict"):
        return exc.messages
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: messages
        for field, messages in exc.message_dict.items()
    }


def _by_field(data):
    if not isinstance(data, dict):
        data = {api_settings.NON_FIELD_ERRORS_KEY: data}
    return {field: _messages(errors) for field, errors in data.items()}


def _messages(errors):
    """A field's errors as the flat list of messages the contract promises. DRF nests the errors
    of a list's items by index and those of a nested object by field; each such message says
    where it belongs instead."""
    if isinstance(errors, dict):
        return [
            f"{_place(key)}{message}"
            for key, value in errors.items()
            for message in _messages(value)
        ]
    if isinstance(errors, list):
        return [message for item in errors for message in _messages(item)]
    return [str(errors)]


def _place(key):
    if str(key).isdigit():
        return gettext("第 %(number)d 项：") % {"number": int(key) + 1}
    return f"{key}："


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class FieldErrorsSerializer(serializers.Serializer):
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def error_responses(*codes):
    """The bodies an endpoint answers with on these error codes, for its schema."""
    return {
        code: FieldErrorsSerializer
        if code == status.HTTP_400_BAD_REQUEST
        else DetailErrorSerializer
        for code in codes
    }


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("当前状态不允许这项操作。")
    default_code = "conflict"


class ServiceErrorsMixin:
    """The services refuse an action the state does not allow with InvalidTransition, a
    ValidationError the shared handler would answer as bad input; the contract says 409."""

    def handle_exception(self, exc):
        if isinstance(exc, InvalidTransition):
            exc = Conflict(" ".join(exc.messages))
        return super().handle_exception(exc)
