"""Money in the tenant's currency, times in the tenant's timezone."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, get_currency_precision
from django.db import connection

LOCALE = "en_US"


def tenant_currency() -> str:
    return getattr(connection.tenant, "currency", "USD") or "USD"


def tenant_zone() -> ZoneInfo:
    return ZoneInfo(getattr(connection.tenant, "timezone", "UTC") or "UTC")


def money(value: Decimal | int | None, currency: str | None = None) -> str:
    currency = currency or tenant_currency()
    amount = Decimal(value or 0)
    places = get_currency_precision(currency)
    amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format_currency(amount, currency, locale=LOCALE)


def plain_money(value: Decimal | int | None, currency: str | None = None) -> str:
    """The amount rounded to the currency's places, without a symbol (for CSV)."""
    places = get_currency_precision(currency or tenant_currency())
    return str(Decimal(value or 0).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def local_day_start(now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
