"""The platform operators' admin (public hostname only): provision, suspend, reactivate."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.errors import ApplicationError
from apps.tenants import services
from apps.tenants.models import Domain, Tenant


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class TenantCreationForm(forms.ModelForm):
    domain = forms.CharField(
        required=False,
        help_text="Leave empty for <schema with - for _>.<TENANT_DOMAIN_SUFFIX>, e.g. acme-foods.localhost.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "schema_name", "plan", "currency", "timezone"]

    def clean(self) -> dict:
        data = super().clean()
        try:
            services.tenant_validate(
                schema_name=data.get("schema_name") or "",
                domain=data.get("domain") or services.default_domain_for(data.get("schema_name") or "x"),
            )
        except ApplicationError as exc:
            for field, messages_ in (exc.details or {}).items():
                self.add_error(field if field in self.fields else None, messages_)
            if not exc.details:
                raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "schema_name", "plan", "currency", "timezone", "is_active", "created_at"]
    list_filter = ["plan", "is_active", "require_if_match"]
    search_fields = ["name", "schema_name", "domains__domain"]
    readonly_fields = ["schema_name", "is_active", "suspended_at", "suspension_reason", "created_at"]
    inlines = [DomainInline]
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tenant]:
        return super().get_queryset(request).filter(is_template=False)

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = TenantCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        return self.readonly_fields if obj else []

    def get_inlines(self, request: HttpRequest, obj: Tenant | None) -> list[type]:
        return self.inlines if obj else []

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            created = services.tenant_create(
                name=obj.name,
                schema_name=obj.schema_name,
                domain=form.cleaned_data.get("domain") or None,
                plan=obj.plan,
                currency=obj.currency,
                timezone_name=obj.timezone,
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = created.pk
        obj._state.adding = False

    @admin.action(description="Suspend selected tenants (data is kept)")
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_suspend(tenant=tenant, reason=f"Suspended by {request.user}")
        self.message_user(request, f"Suspended {queryset.count()} tenant(s).", messages.WARNING)

    @admin.action(description="Reactivate selected tenants")
    def reactivate(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_reactivate(tenant=tenant)
        self.message_user(request, f"Reactivated {queryset.count()} tenant(s).")


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    search_fields = ["domain", "tenant__name"]
    list_select_related = ["tenant"]
