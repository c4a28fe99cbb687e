"""The dashboards' forms. They only parse and bound the input; the rules and their messages are
the services' (the same as the API's), mapped back onto the field they are about."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm

from apps.catalog.models import Variant
from apps.core.errors import ApplicationError
from apps.orders.services import CARRIER_TRACKING_URLS
from apps.stock.models import Location, Lot
from apps.stock.services import ADJUSTMENT_DELTAS

INT_BOUND = 1_000_000  # well inside the integer columns; the services decide what is allowed


class DashboardAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in (staff only) with the lockout's own message."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "locked": "Too many failed sign-ins for this address. Try again in %(minutes)s minutes.",
    }

    def clean(self) -> dict:
        try:
            return super().clean()
        except forms.ValidationError:
            if getattr(self.request, "login_locked", False):
                raise forms.ValidationError(
                    self.error_messages["locked"],
                    code="locked",
                    params={"minutes": max(settings.LOGIN_LOCKOUT_SECONDS // 60, 1)},
                ) from None
            raise


def apply_service_error(form: forms.Form, exc: ApplicationError, *, default_field: str | None = None) -> None:
    """Put a service's error next to the field it names (its `details`), else on `default_field`,
    else at the top of the form."""
    placed = False
    if isinstance(exc.details, dict):
        for key, messages in exc.details.items():
            if key in form.fields and isinstance(messages, list):
                for message in messages:
                    form.add_error(key, str(message))
                placed = True
    if not placed:
        form.add_error(default_field if default_field in form.fields else None, exc.message)


class _SkuLotMixin(forms.Form):
    sku = forms.CharField(
        label="SKU", max_length=64, widget=forms.TextInput(attrs={"list": "skus", "autocomplete": "off"})
    )
    lot = forms.CharField(label="Lot (batch number)", max_length=64, required=False)

    def clean_sku(self) -> Variant:
        sku = self.cleaned_data["sku"].strip()
        variant = Variant.objects.filter(sku__iexact=sku).first()
        if variant is None:
            raise forms.ValidationError("No product has this SKU.", code="unknown_sku")
        return variant

    def clean(self) -> dict:
        data = super().clean()
        batch = (data.get("lot") or "").strip()
        variant = data.get("sku")
        data["lot"] = None
        if batch and isinstance(variant, Variant):
            lot = Lot.objects.filter(variant=variant, batch_number=batch).first()
            if lot is None:
                self.add_error("lot", "No lot of this product has that batch number.")
            data["lot"] = lot
        return data


class AdjustForm(_SkuLotMixin):
    reason = forms.ChoiceField(choices=[(r, r.replace("_", " ").capitalize()) for r in ADJUSTMENT_DELTAS])
    quantity = forms.IntegerField(min_value=-INT_BOUND, max_value=INT_BOUND)
    note = forms.CharField(max_length=500, required=False)


class CountForm(_SkuLotMixin):
    counted = forms.IntegerField(label="Counted on hand", min_value=-INT_BOUND, max_value=INT_BOUND)
    note = forms.CharField(max_length=500, required=False)


class TransferForm(_SkuLotMixin):
    to_location = forms.TypedChoiceField(label="To", coerce=int)
    quantity = forms.IntegerField(min_value=-INT_BOUND, max_value=INT_BOUND)
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: object, source: Location, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        others = Location.objects.filter(is_active=True).exclude(pk=source.pk).order_by("name")
        self.fields["to_location"].choices = [(loc.pk, loc.name) for loc in others]


class MoveForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("preparing", "Prepare"),
            ("ready", "Ready"),
            ("out_for_delivery", "Out for delivery"),
            ("completed", "Complete"),
            ("hand_over", "Hand over"),
        ]
    )


class ShipForm(forms.Form):
    carrier = forms.ChoiceField(choices=[("", "Carrier…")] + [(c, c.upper()) for c in CARRIER_TRACKING_URLS])
    tracking_number = forms.CharField(label="Tracking number", max_length=64)


class SalesRangeForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    granularity = forms.ChoiceField(label="By", choices=[("day", "Day"), ("week", "Week")], initial="day")

    def clean(self) -> dict:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                self.add_error("end", "The end is before the start.")
            elif end - start > dt.timedelta(days=366):
                self.add_error("start", "Pick a range of at most a year.")
        return data


class DraftOrderForm(forms.Form):
    suggestions = forms.TypedMultipleChoiceField(coerce=int, label="Suggestions")

    def __init__(self, *args: object, choices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["suggestions"].choices = choices


class ReplyForm(forms.Form):
    body = forms.CharField(label="Reply", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ReportForm(forms.Form):
    reason = forms.ChoiceField(choices=[])
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        from apps.reviews.models import ReviewReport

        self.fields["reason"].choices = ReviewReport.Reason.choices
