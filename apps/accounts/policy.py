"""Declared access policies: every API view says who may call it, and that declaration is what
the permission check enforces and what the access-matrix test verifies, operation by operation.

A view sets `access_policy = Access(...)`. A view without one is closed to everybody (and fails
the access-matrix test), so an endpoint added later is covered the day it is added. Object-level
rules (a customer only sees their own objects; others' answer 404) live in the selectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

# Staff roles are groups; the policy names them by these keys.
STAFF_ROLE_GROUPS = {"owner": "Owner", "store_manager": "Store Manager", "warehouse": "Warehouse Staff"}
ALL_STAFF = frozenset(STAFF_ROLE_GROUPS)
API_KEY_SCOPES = ("inventory:read", "inventory:write", "orders:read", "orders:write", "webhooks:manage")


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as access policies care."""

    kind: str  # anonymous | guest | retail | wholesale | staff | api_key
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Access:
    anonymous: bool = False
    guest: bool = False
    retail: bool = False
    wholesale: bool = False
    staff_roles: frozenset[str] = field(default_factory=frozenset)
    api_key_scope: str | None = None  # partner keys holding this scope
    any_api_key: bool = False  # any valid partner key

    def allows(self, principal: Principal) -> bool:
        if self.anonymous:
            return True
        if principal.kind == "api_key":
            return self.any_api_key or (self.api_key_scope is not None and self.api_key_scope in principal.scopes)
        if principal.kind == "staff":
            return bool(self.staff_roles & principal.roles)
        return {"guest": self.guest, "retail": self.retail, "wholesale": self.wholesale}.get(principal.kind, False)


PUBLIC = Access(anonymous=True)
CUSTOMERS = Access(guest=True, retail=True, wholesale=True)
SIGNED_IN = Access(guest=True, retail=True, wholesale=True, staff_roles=ALL_STAFF)
OWNERS = Access(staff_roles=frozenset({"owner"}))
GUESTS = Access(guest=True)


def principal_of(request: Request) -> Principal:
    from apps.accounts.models import AuthSession

    api_key = getattr(request._request, "api_key", None)
    if api_key is not None:
        return Principal(kind="api_key", scopes=frozenset(api_key.scopes))
    user = request.user
    if user is None or not user.is_authenticated:
        return Principal(kind="anonymous")
    kind = request.auth.session_type if isinstance(request.auth, AuthSession) else user.kind
    if kind != "staff":
        return Principal(kind=kind)
    roles = set(staff_roles_of(user))
    if user.is_superuser:
        roles.add("owner")
    return Principal(kind="staff", roles=frozenset(roles))


def staff_roles_of(user: object) -> list[str]:
    cached = getattr(user, "_staff_roles", None)
    if cached is None:
        names = {v: k for k, v in STAFF_ROLE_GROUPS.items()}
        cached = [names[n] for n in user.groups.values_list("name", flat=True) if n in names]
        user._staff_roles = cached
    return cached


class PolicyPermission(BasePermission):
    """Enforces the view's `access_policy`; no policy means nobody."""

    message = "You are not allowed to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        policy = policy_for(view, request.method)
        if policy is None:
            return False
        return policy.allows(principal_of(request))


def policy_for(view: object, method: str) -> Access | None:
    """The view's declared policy for this method: `access_policy` is one Access for every method,
    or a {method: Access} map (HEAD follows GET; a method missing from the map is closed)."""
    declared = getattr(view, "access_policy", None)
    if isinstance(declared, dict):
        method = "GET" if method in {"HEAD", "OPTIONS"} else method
        declared = declared.get(method)
    return declared if isinstance(declared, Access) else None
