"""Strict serializer fields shared by every API (their rules live in apps.core.validation, which the
admin and the CSV imports use too).

DRF's `IntegerField` quietly turns `1.5` into 1 and `true` into 1; a quantity of 1.5 units is a
client bug that must answer 400, never be truncated. Every count and quantity also has an upper
bound that fits its PostgreSQL column, so no request reaches the database with a number it cannot
store.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.validation import INT32_MAX, QUANTITY_MAX, whole_number

BIGINT_MAX = 9_223_372_036_854_775_807


class StrictIntegerField(serializers.IntegerField):
    """A whole number (ints, or digit strings from forms); booleans and fractions are refused;
    bounded to the int4 column by default."""

    default_error_messages = {"invalid": "A whole number is required."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", INT32_MAX)
        kwargs.setdefault("min_value", -INT32_MAX - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            return whole_number(data, min_value=None, max_value=None)
        except ValidationError:
            self.fail("invalid")  # raises


class QuantityField(StrictIntegerField):
    """A number of units: a whole number from `min_value` (default 1) to QUANTITY_MAX."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", QUANTITY_MAX)
        super().__init__(**kwargs)


class IdField(StrictIntegerField):
    """A primary key given in a body: a positive whole number that fits the bigint column."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)


@extend_schema_field({"type": "string", "nullable": True, "description": "Path of the image on this host, or null."})
class ImageUrlField(serializers.ImageField):
    """An uploaded image in a response: its URL path (`/media/...`), relative to the API's host
    when the serializer has no request to make it absolute."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)
