"""drf-spectacular hooks: every operation documents the shared error shape."""

from typing import Any

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

_DEFAULT_ERRORS = {
    "400": "Invalid input (`validation_error`, `malformed_request`, ...).",
    "401": "Not authenticated: `not_authenticated`, `token_invalid`, `session_revoked`, `api_key_invalid`, "
    "`api_key_inactive`.",
    "403": "Not allowed (`permission_denied`, `tenant_suspended`).",
    "429": "Rate limited (`rate_limited`); see the `Retry-After` header.",
}
_UNSAFE_ERRORS = {
    "409": "`idempotency_request_in_progress` or a state conflict.",
    "422": "`idempotency_key_mismatch`: the key was used with another request.",
}


def add_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            errors = dict(_DEFAULT_ERRORS)
            if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}:
                errors.update(_UNSAFE_ERRORS)
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in params):
                    params.append(
                        {
                            "in": "header",
                            "name": "Idempotency-Key",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 255},
                            "description": "Makes a retry safe: the first response is "
                            "replayed for 24 hours (`Idempotent-Replayed: true`).",
                        }
                    )
            for status_code, description in errors.items():
                operation["responses"].setdefault(
                    status_code,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
    return result
