"""Staff roles are groups; their model permissions (what the admin lets them see and change) are
kept in step after every migration, so a permission added by a new app reaches the role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

# Role group -> permission codenames ("app_label.codename"), or "*" for all of them.
# Apps add their permissions here as they land (catalog and stock for Warehouse Staff, orders
# for Store Managers).
ROLE_PERMISSIONS: dict[str, str | set[str]] = {
    "Owner": "*",
    "Store Manager": {
        "accounts.view_user",
        "accounts.view_authsession",
        "accounts.change_authsession",
        "accounts.view_wholesaleaccount",
        "auditlog.view_logentry",
    },
    "Warehouse Staff": {"auditlog.view_logentry"},
}


def role_permissions_sync(**kwargs: Any) -> None:
    for name, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.all()
        if wanted != "*":
            pairs = [code.split(".", 1) for code in wanted]
            permissions = [
                perm
                for perm in permissions.select_related("content_type")
                if [perm.content_type.app_label, perm.codename] in pairs
            ]
        group.permissions.set(permissions)
