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
        "orders.view_order",
        "orders.change_order",
        "stock.view_location",
        "stock.view_stockitem",
        "stock.change_stockitem",
        "stock.view_movement",
        "stock.view_reservation",
        "stock.change_reservation",
        "stock.view_restockalert",
        "stock.view_transfer",
        "stock.view_reordersuggestion",
        "catalog.view_product",
        "catalog.view_variant",
        "accounts.view_user",
        "accounts.view_authsession",
        "accounts.change_authsession",
        "accounts.view_wholesaleaccount",
        "auditlog.view_logentry",
        "reviews.view_review",
        "reviews.change_review",
    },
    "Warehouse Staff": {
        "auditlog.view_logentry",
        "catalog.view_product",
        "catalog.view_variant",
        "catalog.view_supplier",
        "stock.view_location",
        "stock.view_stockitem",
        "stock.view_lot",
        "stock.view_movement",
        "stock.view_transfer",
        "stock.add_transfer",
        "stock.change_transfer",
        "stock.view_purchaseorder",
        "stock.add_purchaseorder",
        "stock.change_purchaseorder",
        "stock.view_reordersuggestion",
        "stock.view_restockalert",
    },
}


def role_permissions_sync(**kwargs: Any) -> None:
    from django.apps import apps

    app_config = kwargs.get("app_config")
    if app_config is not None and app_config is not list(apps.get_app_configs())[-1]:
        return  # post_migrate is sent once per app: act after the last, when every permission exists
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
