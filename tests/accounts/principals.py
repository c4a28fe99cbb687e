"""Callers of every kind, made fresh for a test: each returns request headers for the client."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import Group
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts import services
from apps.accounts.models import User, UserKind, WholesaleAccount
from apps.accounts.policy import API_KEY_SCOPES, STAFF_ROLE_GROUPS

PASSWORD = "Sauce-Lover-2026"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _email(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:10]}@example.com"


def user_of_kind(kind: str, **extra) -> User:
    return User.objects.create_user(_email(kind), PASSWORD, kind=kind, **extra)


def guest_headers(tenant) -> dict[str, str]:
    with tenant_context(tenant):
        _, pair = services.guest_start(device_id=f"device-{uuid.uuid4().hex}")
    return bearer(pair.access)


def customer_headers(tenant, kind: str = UserKind.RETAIL, approved: bool = True) -> dict[str, str]:
    with tenant_context(tenant):
        extra = {}
        if kind == UserKind.WHOLESALE:
            extra["wholesale_account"] = WholesaleAccount.objects.create(
                name="Corner Deli",
                tax_id="1",
                billing_address="Main St",
                is_approved=approved,
                approved_at=timezone.now() if approved else None,
            )
        pair = services.session_start(user=user_of_kind(kind, **extra))
    return bearer(pair.access)


def staff_headers(tenant, role: str) -> dict[str, str]:
    with tenant_context(tenant):
        user = User.objects.create_user(_email(role), PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=STAFF_ROLE_GROUPS[role]))
        pair = services.session_start(user=user)
    return bearer(pair.access)


def api_key_headers(tenant, scopes: list[str]) -> dict[str, str]:
    with tenant_context(tenant):
        _, plain = services.api_key_create(name="Partner", scopes=scopes)
    return {"HTTP_X_API_KEY": plain}


def all_scopes() -> list[str]:
    return list(API_KEY_SCOPES)
