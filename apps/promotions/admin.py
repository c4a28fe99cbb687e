"""Staff screens: create, schedule, pause, resume and clone every promotion and coupon type,
generate codes (and export them), see usage and redemptions, and preview a sample cart with the
pricing explanation. Actions and saves call the same services as the API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.accounts.models import User
from apps.catalog.models import Variant
from apps.core.errors import ApplicationError
from apps.promotions import selectors, services
from apps.promotions.models import Coupon, CouponCode, Promotion, Redemption

SCHEDULE = ("Schedule", {"fields": ["starts_at", "ends_at", "is_active", "priority"]})
RULES = (
    "Rules",
    {
        "fields": [
            "percent",
            "amount",
            "fixed_price",
            "buy_quantity",
            "get_quantity",
            "get_percent",
            "tiers",
            "min_spend",
            "cap",
        ]
    },
)
SCOPE = ("Scope", {"fields": ["scope", "categories", "products", "variants"]})
WHO = ("Who and with what", {"fields": ["channels", "loyalty_tiers", "exclusive", "combines_with"]})


class _OfferAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "scope", "is_active", "starts_at", "ends_at", "priority", "exclusive"]
    list_filter = ["kind", "scope", "is_active", "exclusive"]
    search_fields = ["name"]
    filter_horizontal = ["categories", "products", "variants"]
    actions = ["pause", "resume", "clone"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        services.offer_save(instance=obj, fields={})

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        for offer in queryset:
            services.offer_pause(instance=offer, active=False)

    @admin.action(description="Resume", permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        for offer in queryset:
            services.offer_pause(instance=offer, active=True)

    @admin.action(description="Clone (a paused copy)", permissions=["add"])
    def clone(self, request: HttpRequest, queryset: QuerySet) -> None:
        for offer in queryset:
            copy = services.offer_clone(instance=offer)
            self.message_user(request, f"Cloned as “{copy.name}” (paused).")

    def get_urls(self) -> list:
        name = self.model._meta.model_name
        return [
            path("preview/", self.admin_site.admin_view(self.preview), name=f"promotions_{name}_preview"),
            *super().get_urls(),
        ]

    def preview(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Preview a sample cart",
            "form": form,
            "opts": self.model._meta,
        }
        if request.method == "POST" and form.is_valid():
            try:
                priced = services.cart_price(
                    lines=form.cleaned_data["lines"],
                    customer=form.cleaned_data["customer"],
                    channel=form.cleaned_data["channel"],
                    fulfilment=form.cleaned_data["fulfilment"],
                    delivery_fee=form.cleaned_data["delivery_fee"] or Decimal("0"),
                    codes=form.cleaned_data["codes"],
                )
                context["quote"] = priced.quote
                context["invalid_codes"] = priced.invalid_codes
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return TemplateResponse(request, "admin/promotions/preview.html", context)


class PreviewForm(forms.Form):
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), help_text="One line per product: SKU quantity (e.g. 'HOT-1 2')."
    )
    customer = forms.CharField(required=False, max_length=254, help_text="Customer e-mail (empty: anonymous).")
    channel = forms.ChoiceField(choices=[("retail", "Retail"), ("wholesale", "Wholesale")])
    fulfilment = forms.ChoiceField(choices=[(k, k) for k in ("pickup", "curbside", "delivery", "shipping")])
    delivery_fee = forms.DecimalField(required=False, min_value=0, max_digits=12, decimal_places=2)
    codes = forms.CharField(required=False, max_length=200, help_text="Coupon codes, comma separated.")

    def clean_lines(self) -> list:
        wanted = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            if not raw.strip():
                continue
            sku, _, qty = raw.strip().partition(" ")
            if not qty.strip().isdigit() or not 1 <= int(qty) <= 10_000:
                raise forms.ValidationError(f"Line {number}: 'SKU quantity'.")
            wanted.append((sku, int(qty)))
        variants = {v.sku: v for v in Variant.objects.filter(sku__in=[s for s, _ in wanted], is_archived=False)}
        missing = [s for s, _ in wanted if s not in variants]
        if missing or not wanted:
            raise forms.ValidationError(f"Unknown SKUs: {', '.join(missing)}" if missing else "Add a line.")
        return [(variants[s], q) for s, q in wanted]

    def clean_customer(self) -> User | None:
        email = self.cleaned_data["customer"].strip()
        if not email:
            return None
        user = User.objects.filter(email__iexact=email).exclude(kind="staff").first()
        if user is None:
            raise forms.ValidationError("No such customer.")
        return user

    def clean_codes(self) -> list[str]:
        return [c.strip() for c in self.cleaned_data["codes"].split(",") if c.strip()][:5]


@admin.register(Promotion)
class PromotionAdmin(_OfferAdmin):
    fieldsets = [(None, {"fields": ["name", "description", "kind"]}), SCOPE, RULES, WHO, SCHEDULE]


class GenerateCodesForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=services.MAX_CODES_PER_BATCH, initial=100)
    prefix = forms.RegexField(regex=r"^[A-Za-z0-9]{0,10}$", required=False, max_length=10)


@admin.register(Coupon)
class CouponAdmin(_OfferAdmin):
    list_display = [*_OfferAdmin.list_display, "uses", "usage_limit"]
    readonly_fields = ["uses", "usage", "links"]
    fieldsets = [
        (None, {"fields": ["name", "description", "kind", "gift_variant", "referral_role"]}),
        SCOPE,
        RULES,
        WHO,
        SCHEDULE,
        ("Limits", {"fields": ["usage_limit", "per_customer_limit", "single_use_codes", "uses"]}),
        ("Issued codes", {"fields": ["window_days", "inactive_days", "valid_days"]}),
        ("Usage", {"fields": ["usage", "links"]}),
    ]

    @admin.display(description="Usage")
    def usage(self, obj: Coupon) -> str:
        if not obj.pk:
            return "-"
        u = selectors.coupon_usage(coupon=obj)
        return (
            f"{u['uses']} uses ({u['released']} given back), {u['discount_given']} given, "
            f"{u['codes_used']} of {u['codes']} codes used, {u['customers']} customers"
        )

    @admin.display(description="Codes")
    def links(self, obj: Coupon) -> str:
        if not obj.pk:
            return "-"
        return format_html(
            '<a href="{}">Generate codes</a> · <a href="{}">Export codes (CSV)</a> · <a href="{}">Codes</a> · '
            '<a href="{}">Redemptions</a>',
            reverse("admin:promotions_coupon_generate", args=[obj.pk]),
            reverse("admin:promotions_coupon_codes_csv", args=[obj.pk]),
            reverse("admin:promotions_couponcode_changelist") + f"?coupon__id__exact={obj.pk}",
            reverse("admin:promotions_redemption_changelist") + f"?coupon__id__exact={obj.pk}",
        )

    def get_urls(self) -> list:
        return [
            path(
                "<int:coupon_id>/generate/",
                self.admin_site.admin_view(self.generate),
                name="promotions_coupon_generate",
            ),
            path(
                "<int:coupon_id>/codes.csv",
                self.admin_site.admin_view(self.codes_csv),
                name="promotions_coupon_codes_csv",
            ),
            *super().get_urls(),
        ]

    def generate(self, request: HttpRequest, coupon_id: int) -> HttpResponse:
        coupon = Coupon.objects.filter(pk=coupon_id).first()
        if coupon is None or not self.has_change_permission(request, coupon):
            raise PermissionDenied
        form = GenerateCodesForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            made = services.coupon_codes_generate(
                coupon=coupon, count=form.cleaned_data["count"], prefix=form.cleaned_data["prefix"] or ""
            )
            self.message_user(request, f"Generated {len(made)} codes.")
            return HttpResponseRedirect(reverse("admin:promotions_coupon_change", args=[coupon.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Generate codes for {coupon}",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/promotions/generate.html", context)

    def codes_csv(self, request: HttpRequest, coupon_id: int) -> HttpResponse:
        coupon = Coupon.objects.filter(pk=coupon_id).first()
        if coupon is None or not self.has_view_permission(request, coupon):
            raise PermissionDenied
        response = HttpResponse(services.coupon_codes_csv(coupon=coupon), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="coupon-{coupon.pk}-codes.csv"'
        return response


@admin.register(CouponCode)
class CouponCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "coupon", "customer", "uses", "max_uses", "valid_from", "valid_until"]
    list_filter = ["coupon"]
    search_fields = ["code", "customer__email"]
    list_select_related = ["coupon", "customer"]
    readonly_fields = ["coupon", "code", "customer", "issue_key", "uses", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # codes come from the coupon's "Generate codes" page or the API


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["code", "coupon", "order", "customer", "amount", "created_at", "released_at"]
    list_filter = ["coupon"]
    list_select_related = ["code", "coupon", "order", "customer"]
    readonly_fields = [f.name for f in Redemption._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
