"""The procurement report in the admin: the same figures as /api/v1/procurement/* (see
apps.stock.procurement), with the period and filters as a form, the table and a CSV download.
Linked from the purchase orders' list; open to staff who may view purchase orders or suppliers
(store managers see the orders of their own locations)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts.policy import Principal, staff_roles_of
from apps.catalog.models import Supplier
from apps.stock import procurement, selectors
from apps.stock.api.procurement_views import (
    DEFAULT_PERIOD_DAYS,
    LAST_DAY,
    SUPPLIER_COLUMNS,
    VARIANT_COLUMNS,
    _csv_value,
    csv_response,
)
from apps.stock.models import Location

ADMIN_ROWS = 500  # the table shows this many rows; the CSV has all of them

REPORTS = {
    "suppliers": ("By supplier", procurement.supplier_report, SUPPLIER_COLUMNS),
    "variants": ("By variant (costs, margin, cheapest supplier)", procurement.variant_report, VARIANT_COLUMNS),
}


class ReportForm(forms.Form):
    report = forms.ChoiceField(choices=[(k, v[0]) for k, v in REPORTS.items()], required=False)
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    supplier = forms.ModelChoiceField(queryset=Supplier.objects.order_by("name"), required=False)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)
    sku = forms.CharField(label="SKU", required=False, max_length=64)

    def __init__(self, *args: Any, locations: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["report"] = data.get("report") or "suppliers"
        tz = getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"
        end = data.get("end") or timezone.now().astimezone(ZoneInfo(tz)).date()
        if end > LAST_DAY:
            self.add_error("end", f"Must be on or before {LAST_DAY.isoformat()}.")
            return data
        # Clamped to the first day there is, as in the API (an end in year 1 is no 500).
        default_start = max(dt.date.min.toordinal(), end.toordinal() - (DEFAULT_PERIOD_DAYS - 1))
        start = data.get("start") or dt.date.fromordinal(default_start)
        if start > end:
            self.add_error("start", "Must be on or before the end of the period.")
        data["start"], data["end"] = start, end
        return data


def _principal(user: Any) -> Principal:
    roles = set(staff_roles_of(user))
    if user.is_superuser:
        roles.add("owner")
    return Principal(kind="staff", roles=frozenset(roles))


def procurement_report_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    if not (model_admin.has_view_permission(request) or request.user.has_perm("catalog.view_supplier")):
        raise PermissionDenied
    locations = selectors.location_list(principal=_principal(request.user), user=request.user, include_inactive=True)
    form = ReportForm(request.GET, locations=locations)  # nothing submitted: the defaults
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": "Procurement report",
        "opts": model_admin.model._meta,
        "form": form,
        "default_days": DEFAULT_PERIOD_DAYS,
    }
    if not form.is_valid():
        return TemplateResponse(request, "admin/stock/procurement_report.html", context, status=400)
    data = form.cleaned_data
    label, report, columns = REPORTS[data["report"]]
    scoped = locations.filter(pk=data["location"].pk) if data.get("location") else locations
    rows = report(
        flt=procurement.ProcurementFilter(
            start=data["start"],
            end=data["end"],
            locations=scoped,
            supplier_id=data["supplier"].pk if data.get("supplier") else None,
            sku=data.get("sku") or None,
        )
    )
    if request.GET.get("format") == "csv":
        period = f"{data['start'].isoformat()}-{data['end'].isoformat()}"
        return csv_response(rows.all(), columns, f"procurement-{data['report']}-{period}.csv")
    shown = rows[0:ADMIN_ROWS]
    query = request.GET.copy()
    query["format"] = "csv"
    context.update(
        {
            "label": label,
            "start": data["start"],
            "end": data["end"],
            "columns": columns,
            "table": [["" if row[c] is None else _csv_value(row[c]) for c in columns] for row in shown],
            "total": rows.count() if len(shown) == ADMIN_ROWS else len(shown),
            "limit": ADMIN_ROWS,
            "csv_url": f"?{query.urlencode()}",
        }
    )
    return TemplateResponse(request, "admin/stock/procurement_report.html", context)
