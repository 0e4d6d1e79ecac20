"""The schema class of the API (`DEFAULT_SCHEMA_CLASS`). Apart from portal/api_support.py,
which the REST framework's settings import: drf-spectacular's module reads those settings on
import, and the two would import each other."""

from drf_spectacular import openapi

from portal.api_support import DetailErrorSerializer


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, saying what the shared pagination answers besides the page:
    404 for a page that does not exist (past the end, zero, not a number)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if "200" in responses and self._is_list_view() and self._get_paginator() is not None:
            responses.setdefault(
                "404",
                self._get_response_for_code(DetailErrorSerializer, "404", direction=direction),
            )
        return responses
