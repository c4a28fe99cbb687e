"""The one place that makes the OpenAPI schema say what the API really answers.

* `AutoSchema` (DEFAULT_SCHEMA_CLASS): a view that sets `list_view = True` answers GET with a page
  (`{count, next, previous, results}`, the paginator's own schema, with its `page`/`page_size`
  and filter parameters); every other `many=True` response is a plain JSON array, never a page.
  Response fields backed by a nullable model field are documented as nullable.
* `add_error_responses` (postprocessing hook): every operation documents the statuses it can
  really answer, each with the shared `Error` shape: 400, 401, 403, 413 (body over the limit),
  414 (URL over the limit) and 429 everywhere; 404 on routes with path parameters and on
  paginated lists (a page past the end); 409 and 422 (idempotency) on unsafe methods; 412 and
  428 where the operation takes `If-Match` (apps.core.versioning); 415 where it takes a request
  body.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.fields import empty

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "request_id"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "Human-readable explanation."},
                "details": {
                    "description": "Field errors (field -> list of messages) or other data.",
                    "oneOf": [{"type": "object"}, {"type": "array", "items": {}}],
                },
                "request_id": {"type": "string", "nullable": True},
            },
        }
    },
}


class AutoSchema(SpectacularAutoSchema):
    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and bool(getattr(self.view, "list_view", False))

    def _is_list_view(self, serializer: Any = None) -> bool:
        return self._is_paginated_list() or super()._is_list_view(serializer)

    def _get_paginator(self) -> Any:
        # Only the declared list views paginate (see apps.core.api.views.paginated).
        return super()._get_paginator() if self._is_paginated_list() else None

    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        meta = super()._get_serializer_field_meta(field, direction)
        if direction == "response" and not meta.get("nullable") and _model_field_is_nullable(field):
            meta["nullable"] = True
        return meta


def _model_field_is_nullable(field: Any) -> bool:
    """True when a response field can be null although DRF does not mark it `allow_null`: its
    default is None (`CharField(source="lot.batch_number", default=None)`), or it reads a model
    field that may be NULL, directly or through an optional foreign key on its dotted source."""
    if getattr(field, "default", empty) is None:
        return True
    parent = getattr(field, "parent", None)
    if isinstance(parent, serializers.ListSerializer):
        return False
    model = getattr(getattr(parent, "Meta", None), "model", None)
    source = getattr(field, "source", None)
    if model is None or not source or source == "*":
        return False
    for name in source.split("."):
        try:
            model_field = model._meta.get_field(name)
        except (FieldDoesNotExist, AttributeError):
            return False
        if getattr(model_field, "null", False):
            return True
        model = getattr(model_field, "related_model", None)
        if model is None:
            break
    return False


_ERRORS = {
    "400": "Invalid input (`validation_error`, `malformed_request`, `invalid_character` for a NUL "
    "character in the path, query or body, ...).",
    "401": "Not authenticated: `not_authenticated`, `token_invalid`, `session_revoked`, `api_key_invalid`, "
    "`api_key_inactive`.",
    "403": "Not allowed (`permission_denied`, `tenant_suspended`).",
    "413": "`request_too_large`: the body is larger than the limit (1 MB for JSON by default).",
    "414": "`uri_too_long`: the URL is longer than the limit.",
    "429": "Rate limited (`rate_limited`); see the `Retry-After` header.",
}
_NOT_FOUND = {"404": "`not_found`: no such object, or not one the caller may see."}
_PAGE_NOT_FOUND = {"404": "`not_found`: the page is past the last one."}
_UNSAFE_ERRORS = {
    "409": "`idempotency_request_in_progress` or a state conflict.",
    "422": "`idempotency_key_mismatch`: the key was used with another request.",
}
_PRECONDITION = {
    "412": "`precondition_failed`: the resource changed since the `ETag` sent in `If-Match` (nothing was "
    "changed; `details.current_version` and `details.current_etag` name the current one).",
    "428": "`precondition_required`: this business requires `If-Match` on staff and partner edits "
    "(tenant setting `require_if_match`).",
}
_MEDIA_TYPE = {"415": "`unsupported_media_type`: send the body in one of the documented content types."}

_IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Makes a retry safe: the first response is replayed for 24 hours (`Idempotent-Replayed: true`).",
}


def add_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            params = operation.setdefault("parameters", [])
            errors = dict(_ERRORS)
            if "{" in path:
                errors.update(_NOT_FOUND)
            elif any(p.get("name") == "page" and p.get("in") == "query" for p in params):
                errors.update(_PAGE_NOT_FOUND)
            if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
                errors.update(_UNSAFE_ERRORS)
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(dict(_IDEMPOTENCY_HEADER))
            if any(p.get("name") == "If-Match" and p.get("in") == "header" for p in params):
                errors.update(_PRECONDITION)
            if "requestBody" in operation:
                errors.update(_MEDIA_TYPE)
            for status_code, description in errors.items():
                operation["responses"].setdefault(
                    status_code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
