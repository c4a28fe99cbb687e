from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from apps.accounts import openapi  # noqa: F401  (registers the auth scheme)
        from apps.accounts.roles import role_permissions_sync

        # After every migrate of a schema, once the last app's permissions exist: roles get theirs.
        post_migrate.connect(role_permissions_sync, dispatch_uid="accounts.role_permissions")
