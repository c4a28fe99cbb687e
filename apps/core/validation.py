"""Number rules shared by the API serializers, the admin forms and the CSV imports.

A quantity is a whole number: `1.5`, `true` or `"2.0"` are refused, never truncated, and every
quantity has an upper bound that fits its PostgreSQL column (integer: 2,147,483,647).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

INT32_MAX = 2_147_483_647
# Units on one line, receipt, adjustment or movement: far above any real one, far inside int4,
# so that sums of a few lines cannot overflow a stock row either.
QUANTITY_MAX = 1_000_000
# Money columns are numeric(12, 2).
MONEY_MAX = Decimal("9999999999.99")


def whole_number(value: object, *, min_value: int | None = 1, max_value: int | None = QUANTITY_MAX) -> int:
    """`value` as an int, or ValidationError (code `invalid`, `min_value` or `max_value`).

    Accepts ints and strings of digits (CSV cells, form fields); refuses booleans, fractions,
    floats and anything else, whatever `int()` would have made of it.
    """
    if isinstance(value, bool):
        raise ValidationError("A whole number is required.", code="invalid")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and len(value.strip()) <= 20:
        number = int(value.strip())
    else:
        raise ValidationError("A whole number is required.", code="invalid")
    if min_value is not None and number < min_value:
        raise ValidationError(f"Must be at least {min_value}.", code="min_value")
    if max_value is not None and number > max_value:
        raise ValidationError(f"Must be at most {max_value}.", code="max_value")
    return number


def money(value: object, *, min_value: Decimal = Decimal(0), max_value: Decimal = MONEY_MAX) -> Decimal:
    """A money amount with at most 2 decimals inside the column's range, or ValidationError."""
    if isinstance(value, bool | float):
        value = str(value) if isinstance(value, float) else None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError("A decimal amount is required.", code="invalid") from None
    if not amount.is_finite() or amount.as_tuple().exponent < -2:
        raise ValidationError("At most 2 decimal places.", code="invalid")
    if amount < min_value or amount > max_value:
        raise ValidationError(f"Must be between {min_value} and {max_value}.", code="out_of_range")
    return amount
