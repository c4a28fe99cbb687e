"""Procurement analytics API: per supplier and per variant, over a period of sent purchase orders
(see apps.stock.procurement for what every figure means). Staff only (every role; store managers
see the orders of their own locations). JSON pages like every list, or CSV of every row with
`?format=csv` or `Accept: text/csv`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import ALL_STAFF, Access, principal_of
from apps.core.api.fields import IdField
from apps.core.api.views import paginated
from apps.core.openapi import AutoSchema
from apps.stock import procurement, selectors
from apps.stock.models import PurchaseOrder

PROCUREMENT_READERS = Access(staff_roles=ALL_STAFF)
DEFAULT_PERIOD_DAYS = 90
LAST_DAY = dt.date.max - dt.timedelta(days=1)


class CsvRenderer(BaseRenderer):
    """Selects the CSV answer (`?format=csv`, `Accept: text/csv`); the views write the CSV."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else str(data).encode()


class ReportSchema(AutoSchema):
    """The page is documented for JSON only; the CSV body is a plain string, not a page."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        if serializer is None or serializer == OpenApiTypes.STR:
            return False
        return super()._is_list_view(serializer)


# ---------------------------------------------------------------------------------------------
# Query and answers


class ReportQuerySerializer(serializers.Serializer):
    # `from` is a keyword: declared below through the fields mapping.
    to = serializers.DateField(
        required=False, help_text="Last day (inclusive, tenant timezone, YYYY-MM-DD). Default: today."
    )
    supplier = IdField(required=False, help_text="Only orders of this supplier.")
    variant = IdField(required=False, help_text="Only lines of this variant (id).")
    sku = serializers.CharField(required=False, max_length=64, help_text="Only lines of this variant (SKU).")
    location = IdField(required=False, help_text="Only orders for this location.")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            required=False,
            help_text=f"First day (inclusive, tenant timezone, YYYY-MM-DD). Default: {DEFAULT_PERIOD_DAYS - 1} "
            "days before `to`.",
        )
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tz = getattr(getattr(connection, "tenant", None), "timezone", None) or "UTC"
        end = attrs.get("to") or timezone.now().astimezone(ZoneInfo(tz)).date()
        if end > LAST_DAY:
            raise serializers.ValidationError({"to": [f"Must be on or before {LAST_DAY.isoformat()}."]})
        # The default start is clamped to the first day there is (`to=0001-01-05` is no 500).
        default_start = max(dt.date.min.toordinal(), end.toordinal() - (DEFAULT_PERIOD_DAYS - 1))
        start = attrs.get("from") or dt.date.fromordinal(default_start)
        if start > end:
            raise serializers.ValidationError({"from": ["Must be on or before `to`."]})
        return {**attrs, "from": start, "to": end}


_PERIOD_PARAMETERS = [
    ReportQuerySerializer,
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        enum=["json", "csv"],
        description="`csv`: every row as a CSV file (same as `Accept: text/csv`), no pages.",
    ),
]


class SupplierReportSerializer(serializers.Serializer):
    supplier_id = serializers.IntegerField()
    supplier_name = serializers.CharField()
    orders = serializers.IntegerField(help_text="Purchase orders sent in the period.")
    orders_received = serializers.IntegerField(help_text="Of those, received in full.")
    variants = serializers.IntegerField(help_text="Distinct variants ordered.")
    units_ordered = serializers.IntegerField()
    units_received = serializers.IntegerField()
    value_ordered = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="Units ordered x unit cost.")
    value_received = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="Units received x unit cost.")
    fill_rate = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="Units received / units ordered (0 to 1)."
    )
    lead_days_avg = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Sent to received in full, in days."
    )
    lead_days_max = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    last_sent_at = serializers.DateTimeField()


class MonthlyCostSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (tenant timezone).")
    avg_unit_cost = serializers.DecimalField(max_digits=16, decimal_places=4)


class VariantReportSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField()
    sku = serializers.CharField()
    variant_name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Retail price.")
    orders = serializers.IntegerField()
    suppliers = serializers.IntegerField(help_text="Distinct suppliers it was ordered from.")
    units_ordered = serializers.IntegerField()
    units_received = serializers.IntegerField()
    value_received = serializers.DecimalField(max_digits=20, decimal_places=4)
    fill_rate = serializers.DecimalField(max_digits=12, decimal_places=4, allow_null=True)
    avg_unit_cost = serializers.DecimalField(
        max_digits=16, decimal_places=4, allow_null=True, help_text="Weighted by the units ordered."
    )
    first_unit_cost = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    last_unit_cost = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    last_supplier_id = serializers.IntegerField(allow_null=True)
    last_supplier_name = serializers.CharField(allow_null=True)
    cost_change_pct = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True, help_text="First to last unit cost, in percent."
    )
    monthly_costs = MonthlyCostSerializer(many=True)
    lead_days_avg = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    lead_days_max = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    margin = serializers.DecimalField(
        max_digits=16, decimal_places=4, allow_null=True, help_text="Price minus the last unit cost."
    )
    margin_pct = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    margin_on_avg_cost = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)
    margin_on_avg_cost_pct = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    cheapest_supplier_id = serializers.IntegerField(allow_null=True, help_text="Lowest current catalog offer.")
    cheapest_supplier_name = serializers.CharField(allow_null=True)
    cheapest_supplier_cost = serializers.DecimalField(max_digits=16, decimal_places=4, allow_null=True)


# ---------------------------------------------------------------------------------------------
# Views


def report_filter(request: Request) -> procurement.ProcurementFilter:
    """The validated period and filters, scoped to the locations the caller may see."""
    query = ReportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    locations = selectors.location_list(principal=principal_of(request), user=request.user, include_inactive=True)
    if "location" in data:
        locations = locations.filter(pk=data["location"])
    return procurement.ProcurementFilter(
        start=data["from"],
        end=data["to"],
        locations=locations,
        supplier_id=data.get("supplier"),
        variant_id=data.get("variant"),
        sku=data.get("sku"),
    )


def csv_response(rows: list[dict[str, Any]], columns: list[str], filename: str) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else _csv_safe(_csv_value(row[c])) for c in columns])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(value: Any) -> Any:
    """No spreadsheet formulas from names (a supplier called "=HYPERLINK(...)"), as the dashboards'
    CSV does: text starting with = + - @ or a tab/CR is written with a leading apostrophe."""
    if isinstance(value, str) and value[:1] in {"=", "+", "-", "@", "\t", "\r"}:
        return "'" + value
    return value


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):  # the monthly series: 2026-01:2.1000;2026-02:2.3000
        return ";".join(f"{item['month']}:{item['avg_unit_cost']}" for item in value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


SUPPLIER_COLUMNS = list(SupplierReportSerializer().fields)
VARIANT_COLUMNS = list(VariantReportSerializer().fields)


class _ReportView(GenericAPIView):
    list_view = True  # GET answers a page
    queryset = PurchaseOrder.objects.none()  # for the schema generator
    access_policy = PROCUREMENT_READERS
    renderer_classes = [JSONRenderer, CsvRenderer]
    filter_backends: list = []
    schema = ReportSchema()
    columns: list[str] = []
    filename = "procurement"
    report = staticmethod(procurement.supplier_report)  # set by each view

    def get(self, request: Request) -> Response | HttpResponse:
        flt = report_filter(request)
        rows = self.report(flt=flt)
        if getattr(request.accepted_renderer, "format", None) == "csv":
            name = f"{self.filename}-{flt.start.isoformat()}-{flt.end.isoformat()}.csv"
            return csv_response(rows.all(), self.columns, name)
        return paginated(self, rows, self.serializer_class, filtered=False)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors keep the one JSON error shape, also when CSV was asked for.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return super().handle_exception(exc)


class SupplierReportView(_ReportView):
    serializer_class = SupplierReportSerializer
    columns = SUPPLIER_COLUMNS
    filename = "procurement-suppliers"
    report = staticmethod(procurement.supplier_report)

    @extend_schema(
        operation_id="procurement_suppliers",
        summary="Procurement by supplier",
        description="One row per supplier with purchase orders sent in the period (`from`..`to`, default the "
        "last 90 days; drafts and cancelled orders do not count): orders, units and value ordered and "
        "received, fill rate (received / ordered) and lead time (sent to received in full, days: average "
        "and maximum). By supplier name. `?format=csv` (or `Accept: text/csv`) answers every row as CSV. "
        "A period without orders answers an empty page; a bad date or `from` after `to` answers 400 "
        "`validation_error`.",
        parameters=_PERIOD_PARAMETERS,
        responses={
            (200, "application/json"): SupplierReportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        tags=["stock"],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        return super().get(request)


class VariantReportView(_ReportView):
    serializer_class = VariantReportSerializer
    columns = VARIANT_COLUMNS
    filename = "procurement-variants"
    report = staticmethod(procurement.variant_report)

    @extend_schema(
        operation_id="procurement_variants",
        summary="Procurement and margin by variant",
        description="One row per variant ordered in the period (from every supplier, or the one in "
        "`supplier`): units ordered and received, value received, fill rate, unit cost (average weighted "
        "by units ordered, first, last and its supplier, change first to last in percent, average per "
        "month), lead time, margin (retail price minus the last and the average unit cost, absolute and "
        "in percent of the price) and the cheapest supplier of the current catalog offers. By SKU. "
        "`?format=csv` (or `Accept: text/csv`) answers every row as CSV (the monthly costs as "
        "`YYYY-MM:cost;...`).",
        parameters=_PERIOD_PARAMETERS,
        responses={
            (200, "application/json"): VariantReportSerializer,
            (200, "text/csv"): OpenApiTypes.STR,
        },
        tags=["stock"],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        return super().get(request)
