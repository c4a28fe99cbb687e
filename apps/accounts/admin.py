from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from apps.accounts.models import ApiKey, AuthSession, User, WholesaleAccount
from apps.accounts.services import api_key_create, api_key_revoke, session_revoke, wholesale_account_approve
from apps.core.errors import ApplicationError


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationAdminForm
    form = UserChangeAdminForm
    ordering = ["email"]
    list_display = ["email", "kind", "full_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["kind", "is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("kind", "full_name", "phone", "birthday", "marketing_consent", "wholesale_account")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    """Signed-in devices. Staff can end a customer's sessions (takes effect on the next request)."""

    list_display = ["user", "session_type", "device_name", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["session_type", "revoked_reason"]
    search_fields = ["user__email", "device_name"]
    list_select_related = ["user"]
    actions = ["revoke"]
    readonly_fields = [f.name for f in AuthSession._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    @admin.action(description="End the selected sessions")
    def revoke(self, request, queryset) -> None:  # noqa: ANN001
        for session in queryset:
            session_revoke(session=session, reason="revoked_by_staff")
        self.message_user(request, f"Ended {queryset.count()} session(s).")


@admin.register(WholesaleAccount)
class WholesaleAccountAdmin(admin.ModelAdmin):
    """Wholesale applications: approving one lets its buyers order."""

    list_display = [
        "name",
        "tax_id",
        "price_list_group",
        "is_approved",
        "credit_limit",
        "payment_terms",
        "open_balance",
        "credit_hold",
        "created_at",
    ]
    list_filter = ["is_approved", "price_list_group", "payment_terms", "credit_hold"]
    search_fields = ["name", "tax_id"]
    # The open balance and the hold follow the invoices (apps.payments.invoices); staff set limit and terms.
    readonly_fields = [
        "is_approved",
        "approved_at",
        "open_balance",
        "available_credit",
        "credit_hold",
        "credit_hold_at",
    ]
    fieldsets = (
        (None, {"fields": ("name", "tax_id", "billing_address", "price_list_group", "is_approved", "approved_at")}),
        (
            "Credit terms",
            {
                "fields": (
                    "credit_limit",
                    "payment_terms",
                    "open_balance",
                    "available_credit",
                    "credit_hold",
                    "credit_hold_at",
                )
            },
        ),
    )
    actions = ["approve"]

    @admin.action(description="Approve the selected accounts (their buyers may order)", permissions=["change"])
    def approve(self, request, queryset) -> None:  # noqa: ANN001
        for account in queryset.filter(is_approved=False):
            wholesale_account_approve(account=account)
        self.message_user(request, "Approved.")


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "rate_limit", "expires_at"]

    def clean(self) -> dict:
        from apps.accounts.policy import API_KEY_SCOPES
        from apps.core.throttling import parse_rate

        data = super().clean()
        scopes = data.get("scopes") or []
        if not isinstance(scopes, list) or not scopes or set(scopes) - set(API_KEY_SCOPES):
            self.add_error("scopes", f"A list of one or more of: {', '.join(API_KEY_SCOPES)}.")
        if data.get("rate_limit"):
            try:
                parse_rate(data["rate_limit"])
            except ValueError as exc:
                self.add_error("rate_limit", str(exc))
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Partner API keys. The key is shown once, in the message after creating it."""

    list_display = ["name", "prefix", "scopes", "rate_limit", "expires_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "scopes", "rate_limit", "expires_at", *readonly_fields]
    form = ApiKeyForm
    actions = ["revoke"]

    def save_model(self, request, obj, form, change) -> None:  # noqa: ANN001
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            key, plain = api_key_create(
                name=obj.name,
                scopes=list(obj.scopes or []),
                created_by=request.user,
                expires_at=obj.expires_at,
                rate_limit=obj.rate_limit,
            )
        except ApplicationError as exc:  # the form validated already; e.g. an expiry in the past
            self.message_user(request, f"Not created: {exc.message}", messages.ERROR)
            return
        obj.pk, obj._state.adding = key.pk, False
        self.message_user(
            request, f"Key for {key.name}: {plain}  (copy it now: it is not shown again)", messages.WARNING
        )

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset) -> None:  # noqa: ANN001
        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, "Revoked.")
