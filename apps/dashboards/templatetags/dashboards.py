from __future__ import annotations

from decimal import Decimal

from django import template

from apps.dashboards import formatting

register = template.Library()


@register.filter
def money(value: Decimal | int | None) -> str:
    return formatting.money(value)


@register.filter
def status_label(value: str) -> str:
    from apps.orders.models import OrderStatus

    return dict(OrderStatus.choices).get(value, value)
