"""Small helpers shared by the API views."""

from typing import Any

from django.db.models import Model, QuerySet
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.core.errors import InvalidInput, NotFound


def paginated(
    view: GenericAPIView, queryset: QuerySet, serializer_class: type[BaseSerializer], *, filtered: bool = True
) -> Response:
    """Filter (search, filters, ordering), paginate and serialize a list: one page of one query.

    The view must declare `list_view = True`: that is what documents its GET as a page in the
    OpenAPI schema (apps.core.openapi.AutoSchema), so the schema and the answer cannot drift apart.
    """
    if not getattr(view, "list_view", False):
        raise TypeError(f"{type(view).__name__} answers a page: declare `list_view = True` on it.")
    if filtered:
        queryset = view.filter_queryset(queryset)
    page = view.paginate_queryset(queryset)
    return view.get_paginated_response(serializer_class(page, many=True).data)


def get_or_404(queryset: QuerySet, message: str, **lookup: Any) -> Model:
    """The object the caller may see, or the error shape's 404 (never a hint that it exists)."""
    obj = queryset.filter(**lookup).first()
    if obj is None:
        raise NotFound(message)
    return obj


def get_or_invalid(queryset: QuerySet, field: str, message: str, **lookup: Any) -> Model:
    """An object a request BODY refers to (`field`), or 400 `validation_error` naming that field:
    a missing reference in the body is bad input, not a missing resource (404 is for the URL)."""
    return found_or_invalid(queryset.filter(**lookup).first(), field, message)


def found_or_invalid(obj: Model | None, field: str, message: str) -> Model:
    """`obj`, or 400 `validation_error` naming the body's `field` when it was not found."""
    if obj is None:
        raise InvalidInput(message, code="validation_error", details={field: [message]})
    return obj
