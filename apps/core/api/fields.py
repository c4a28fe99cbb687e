"""Strict serializer fields shared by every API (and reused by the admin and CSV imports).

DRF's `IntegerField` quietly turns `1.5` into 1 and `true` into 1; a quantity of 1.5 units is a
client bug that must answer 400, never be truncated. Every count, quantity and amount also has an
upper bound that fits its PostgreSQL column, so no request reaches the database with a number
it cannot store.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

# Bounds of the PostgreSQL columns behind the fields (integer, and numeric(12, 2)).
INT32_MAX = 2_147_483_647
QUANTITY_MAX = 1_000_000  # units on one line or movement: far above any real order, inside int4
MONEY_MAX = Decimal("9999999999.99")  # numeric(12, 2)


class StrictIntegerField(serializers.IntegerField):
    """An integer that is an integer: JSON numbers with a fraction, booleans and non-numeric
    strings are refused (`"3"` from a form is accepted); bounded to the int4 column by default."""

    default_error_messages = {"invalid": "A whole number is required."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_value", INT32_MAX)
        kwargs.setdefault("min_value", -INT32_MAX - 1)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, float):
            data = int(data)
        if isinstance(data, str):
            text = data.strip()
            if not text.lstrip("+-").isdigit():
                self.fail("invalid")
            data = text
        return super().to_internal_value(data)


class QuantityField(StrictIntegerField):
    """A number of units: a whole number from `min_value` (default 1) to QUANTITY_MAX."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", QUANTITY_MAX)
        super().__init__(**kwargs)
