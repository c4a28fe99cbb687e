from django.contrib import admin

from apps.core.models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only view of stored keys, for support ("did my retry replay?")."""

    list_display = ["key", "principal", "method", "path", "state", "response_status", "created_at"]
    list_filter = ["state", "method"]
    search_fields = ["key", "principal", "path"]
    exclude = ["response_body"]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False
