"""Store-manager dashboards: server-rendered pages, htmx for the order moves and the live arrivals.

Thin views, like the API's: check who is asking and what they may see (apps.dashboards.access),
read through apps.dashboards.selectors, change through the domain services (the same ones the API
calls), and show a service's error next to the field it is about.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from apps.core.errors import ApplicationError
from apps.dashboards import charts, selectors
from apps.dashboards.access import Scope, may_use_dashboards, principal_for, scope_for
from apps.dashboards.formatting import money, plain_money, tenant_zone
from apps.dashboards.forms import (
    AdjustForm,
    CountForm,
    DashboardAuthenticationForm,
    DraftOrderForm,
    MoveForm,
    ReplyForm,
    ReportForm,
    SalesRangeForm,
    ShipForm,
    TransferForm,
    apply_service_error,
)
from apps.orders import services as order_services
from apps.orders.models import Order
from apps.stock import services as stock_services

PAGES = ["today", "orders", "stock", "sales", "reorder", "reviews"]


class SignInView(auth_views.LoginView):
    """The admin's sign-in form and backend (staff only, with the lockout), landing on /dashboard/."""

    template_name = "dashboards/login.html"
    authentication_form = DashboardAuthenticationForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("dashboards:home")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    return redirect("dashboards:login")


def _login_redirect(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login

    return redirect_to_login(request.get_full_path(), reverse("dashboards:login"))


def dashboard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in staff with a role only; the location in the URL must be one of theirs (else 404);
    times shown in the tenant's timezone."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, location_id: int | None = None, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _login_redirect(request)
        if not may_use_dashboards(principal_for(request.user)):
            return render(request, "dashboards/forbidden.html", status=403)
        scope = scope_for(request, location_id)
        timezone.activate(tenant_zone())
        try:
            return view(request, scope, **kwargs)
        finally:
            timezone.deactivate()

    return wrapper


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(
    request: HttpRequest, scope: Scope, template: str, page: str, context: dict, status: int = 200
) -> HttpResponse:
    return render(
        request,
        template,
        {"scope": scope, "location": scope.location, "page": page, "pages": PAGES, **context},
        status=status,
    )


@require_GET
@dashboard
def home(request: HttpRequest, scope: Scope) -> HttpResponse:
    if len(scope.locations) == 1:
        return redirect("dashboards:today", location_id=scope.locations[0].pk)
    return _page(request, scope, "dashboards/home.html", "", {})


@require_GET
@dashboard
def switch(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The location switcher's target: the same page at the chosen location (one of the caller's)."""
    try:
        wanted = int(request.GET.get("location", ""))
    except ValueError:
        raise Http404("No such location.") from None
    if wanted not in scope.location_ids:
        raise Http404("No such location.")
    page = request.GET.get("page") if request.GET.get("page") in PAGES else "today"
    return redirect(f"dashboards:{page}", location_id=wanted)


# ---------------------------------------------------------------------------------------------
# Today


def _today_context(scope: Scope) -> dict:
    now = timezone.now()
    from apps.dashboards.formatting import local_day_start

    start = local_day_start(now, tenant_zone())
    return {
        "counts": selectors.status_counts(location=scope.location, since=start),
        "ready": selectors.ready_queue(location=scope.location),
        **_arrivals_context(scope),
        "low": selectors.low_stock(location=scope.location),
        "so_far": selectors.sales_so_far(location=scope.location, now=now),
        "now": now,
    }


def _arrivals(scope: Scope) -> list[dict]:
    waiting = order_services.curbside_waiting(location_id=scope.location.pk)
    for card in waiting:
        card["arrived_at"] = timezone.localtime(card["arrived_at"]) if card["arrived_at"] else None
    return waiting


def _arrivals_context(scope: Scope) -> dict:
    waiting = _arrivals(scope)
    signature = "-".join(f"{card['order_id']}.{card['status']}.{card['bay']}" for card in waiting) or "none"
    return {"arrivals": waiting, "signature": signature}


@require_GET
@dashboard
def today(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _page(request, scope, "dashboards/today.html", "today", _today_context(scope))


@require_GET
@dashboard
def arrivals(request: HttpRequest, scope: Scope) -> HttpResponse:
    """The live curbside fragment, polled every second by the Today page: 204 (nothing to swap, the
    focus stays where it is) while the waiting list is unchanged."""
    context = _arrivals_context(scope)
    if request.GET.get("v") == context["signature"]:
        return HttpResponse(status=204)
    return render(request, "dashboards/_arrivals.html", {"location": scope.location, **context})


# ---------------------------------------------------------------------------------------------
# Orders


def _order_or_404(scope: Scope, order_id: int) -> Order:
    order = selectors.order_for_location(location=scope.location, order_id=order_id)
    if order is None:
        raise Http404("No such order.")
    return order


@require_GET
@dashboard
def orders(request: HttpRequest, scope: Scope) -> HttpResponse:
    fulfilment = request.GET.get("fulfilment", "")
    status = request.GET.get("status", "")
    fulfilment = fulfilment if fulfilment in Order.Fulfilment.values else ""
    status = status if status in dict(Order._meta.get_field("status").choices) else ""
    search = request.GET.get("q", "")[:100]
    rows, counts = selectors.order_queue(location=scope.location, fulfilment=fulfilment, status=status, search=search)
    return _page(
        request,
        scope,
        "dashboards/orders.html",
        "orders",
        {
            "rows": [(order, selectors.next_moves(order)) for order in rows],
            "counts": sorted(counts.items()),
            "fulfilment": fulfilment,
            "status": status,
            "q": search,
            "fulfilments": Order.Fulfilment.choices,
            "statuses": Order._meta.get_field("status").choices,
            "ship_form": ShipForm(),
        },
    )


@require_GET
@dashboard
def order_detail(request: HttpRequest, scope: Scope, order_id: int) -> HttpResponse:
    order = _order_or_404(scope, order_id)
    return _page(
        request,
        scope,
        "dashboards/order_detail.html",
        "orders",
        {"order": order, "moves": selectors.next_moves(order), "ship_form": ShipForm()},
    )


def _after_order_change(
    request: HttpRequest, scope: Scope, order: Order, error: str = "", ship_form: ShipForm | None = None
) -> HttpResponse:
    fragment = request.POST.get("fragment", "row")
    if _is_htmx(request):
        if fragment == "arrivals":
            return render(
                request,
                "dashboards/_arrivals.html",
                {"location": scope.location, **_arrivals_context(scope), "error": error},
            )
        fresh = _order_or_404(scope, order.pk)
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        return render(
            request,
            "dashboards/_order_row.html",
            {
                "next_url": current.path if current.path.startswith("/dashboard/") else "",
                "order": fresh,
                "moves": selectors.next_moves(fresh),
                "location": scope.location,
                "error": error,
                "ship_form": ship_form or ShipForm(),
            },
        )
    if error:
        messages.error(request, f"{order.number}: {error}")
    else:
        messages.success(request, f"{order.number} is now {order.get_status_display().lower()}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or not target.startswith(
        "/dashboard/"
    ):
        target = reverse("dashboards:orders", kwargs={"location_id": scope.location.pk})
    return HttpResponseRedirect(target)


@require_POST
@dashboard
def order_move(request: HttpRequest, scope: Scope, order_id: int) -> HttpResponse:
    order = _order_or_404(scope, order_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return _after_order_change(request, scope, order, error="Unknown action.")
    action = form.cleaned_data["action"]
    try:
        if action == "hand_over":
            order = order_services.order_hand_over(order=order)
        else:
            order = order_services.order_transition(order=order, to=action, reason="dashboard")
    except ApplicationError as exc:
        return _after_order_change(request, scope, order, error=exc.message)
    return _after_order_change(request, scope, order)


@require_POST
@dashboard
def order_ship(request: HttpRequest, scope: Scope, order_id: int) -> HttpResponse:
    order = _order_or_404(scope, order_id)
    form = ShipForm(request.POST)
    if not form.is_valid():
        return _after_order_change(
            request, scope, order, error="Give the carrier and tracking number.", ship_form=form
        )
    try:
        order = order_services.order_ship(
            order=order, carrier=form.cleaned_data["carrier"], tracking_number=form.cleaned_data["tracking_number"]
        )
    except ApplicationError as exc:
        apply_service_error(form, exc, default_field="tracking_number")
        return _after_order_change(request, scope, order, error=exc.message, ship_form=form)
    return _after_order_change(request, scope, order)


# ---------------------------------------------------------------------------------------------
# Stock


def _stock_page(request: HttpRequest, scope: Scope, forms: dict | None = None, status: int = 200) -> HttpResponse:
    params = request.GET
    search = params.get("q", "")[:100]
    low = params.get("low") == "1"
    try:
        expiring = int(params["expiring"]) if params.get("expiring") else None
        expiring = min(max(expiring, 0), 3650) if expiring is not None else None
    except ValueError:
        expiring = None
    try:
        category = int(params["category"]) if params.get("category") else None
    except ValueError:
        category = None
    today_ = timezone.localdate()
    forms = forms or {}
    return _page(
        request,
        scope,
        "dashboards/stock.html",
        "stock",
        {
            "items": selectors.stock_rows(
                location=scope.location,
                search=search,
                low=low,
                expiring_days=expiring,
                category_id=category,
                today=today_,
            ),
            "lots": selectors.lots_at(location=scope.location),
            "ledger": selectors.ledger_recent(location=scope.location),
            "categories": selectors.categories(),
            "skus": selectors.variants_at(location=scope.location),
            "q": search,
            "low": low,
            "expiring": expiring,
            "category": category,
            "today": today_,
            "soon": today_ + dt.timedelta(days=7),
            "adjust_form": forms.get("adjust") or AdjustForm(auto_id="adjust_%s"),
            "count_form": forms.get("count") or CountForm(auto_id="count_%s"),
            "transfer_form": forms.get("transfer") or TransferForm(auto_id="transfer_%s", source=scope.location),
        },
        status=status,
    )


@require_GET
@dashboard
def stock(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _stock_page(request, scope)


def _stock_done(request: HttpRequest, scope: Scope, text: str) -> HttpResponse:
    messages.success(request, text)
    return redirect("dashboards:stock", location_id=scope.location.pk)


@require_POST
@dashboard
def stock_adjust(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = AdjustForm(request.POST, auto_id="adjust_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            stock_services.stock_adjust(
                location=scope.location,
                variant=data["sku"],
                reason=data["reason"],
                quantity=data["quantity"],
                lot=data["lot"],
                note=data["note"],
                reference="dashboard",
            )
        except ApplicationError as exc:
            apply_service_error(form, exc, default_field="quantity")
        else:
            return _stock_done(request, scope, f"Adjusted {data['sku'].sku}: {data['reason']} {data['quantity']}.")
    return _stock_page(request, scope, {"adjust": form}, status=400)


@require_POST
@dashboard
def stock_count(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = CountForm(request.POST, auto_id="count_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            stock_services.stock_count(
                location=scope.location,
                variant=data["sku"],
                counted=data["counted"],
                lot=data["lot"],
                note=data["note"],
            )
        except ApplicationError as exc:
            apply_service_error(form, exc, default_field="counted")
        else:
            return _stock_done(request, scope, f"Counted {data['sku'].sku}: {data['counted']} on hand.")
    return _stock_page(request, scope, {"count": form}, status=400)


@require_POST
@dashboard
def stock_transfer(request: HttpRequest, scope: Scope) -> HttpResponse:
    form = TransferForm(request.POST, auto_id="transfer_%s", source=scope.location)
    if form.is_valid():
        data = form.cleaned_data
        from apps.stock.models import Location

        destination = Location.objects.filter(pk=data["to_location"], is_active=True).first()
        try:
            with transaction.atomic():  # drafted and sent at once: the units leave now
                transfer = stock_services.transfer_create(
                    from_location=scope.location,
                    to_location=destination,
                    lines=[(data["sku"], data["lot"], data["quantity"])],
                    note=data["note"],
                )
                stock_services.transfer_ship(transfer=transfer)
        except ApplicationError as exc:
            details = exc.details.get("lines", {}) if isinstance(exc.details, dict) else {}
            line = details.get("0") if isinstance(details, dict) else None
            if isinstance(line, dict):
                exc.details = line
            apply_service_error(form, exc, default_field="quantity")
        else:
            return _stock_done(
                request, scope, f"Transfer {transfer.pk}: {data['quantity']} x {data['sku'].sku} to {destination}."
            )
    return _stock_page(request, scope, {"transfer": form}, status=400)


# ---------------------------------------------------------------------------------------------
# Sales


def _sales_range(request: HttpRequest) -> tuple[SalesRangeForm, dt.date, dt.date, str]:
    today_ = timezone.localdate()
    initial = {"start": today_ - dt.timedelta(days=29), "end": today_, "granularity": "day"}
    form = SalesRangeForm({**initial, **request.GET.dict()} if request.GET else initial)
    if form.is_valid():
        data = form.cleaned_data
        return form, data["start"], data["end"], data["granularity"]
    return form, initial["start"], initial["end"], "day"


@require_GET
@dashboard
def sales(request: HttpRequest, scope: Scope) -> HttpResponse:
    form, start, end, granularity = _sales_range(request)
    report = selectors.sales_report(location=scope.location, start=start, end=end, granularity=granularity)
    fmt = "%b %d" if granularity == "day" else "wk %b %d"
    return _page(
        request,
        scope,
        "dashboards/sales.html",
        "sales",
        {
            "form": form,
            "report": report,
            "revenue_chart": charts.bar_chart(
                [(row["period"].strftime(fmt), row["revenue"]) for row in report.series],
                title=f"Revenue by {granularity}",
                value_label=money,
            ),
            "category_chart": charts.hbar_chart(
                [(row["category"], row["revenue"]) for row in report.by_category],
                title="Revenue by category",
                value_label=money,
            ),
            "query": request.GET.urlencode(),
        },
    )


@require_GET
@dashboard
def sales_csv(request: HttpRequest, scope: Scope) -> HttpResponse:
    """What the Sales page shows, as CSV: one section per table."""
    _, start, end, granularity = _sales_range(request)
    report = selectors.sales_report(location=scope.location, start=start, end=end, granularity=granularity)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="sales-{scope.location.code}-{start.isoformat()}-{end.isoformat()}.csv"'
    )
    out = csv.writer(response)
    out.writerow(["section", "label", "orders", "units", "revenue"])
    for row in report.series:
        out.writerow([granularity, row["period"].isoformat(), row["orders"], "", plain_money(row["revenue"])])
    for row in report.by_category:
        out.writerow(["category", _csv_safe(row["category"]), "", row["units"], plain_money(row["revenue"])])
    for row in report.top_products:
        out.writerow(
            ["product", _csv_safe(f"{row['product']} ({row['sku']})"), "", row["units"], plain_money(row["revenue"])]
        )
    for row in report.tier_mix or []:
        out.writerow(["loyalty_tier", row["tier"], row["orders"], "", plain_money(row["revenue"])])
    out.writerow(["total", "orders", report.orders, "", plain_money(report.revenue)])
    out.writerow(["total", "average_basket", "", "", plain_money(report.average_basket)])
    return response


def _csv_safe(text: str) -> str:
    """No spreadsheet formulas from product names."""
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


# ---------------------------------------------------------------------------------------------
# Reorder


def _reorder_page(
    request: HttpRequest, scope: Scope, form: DraftOrderForm | None = None, status: int = 200
) -> HttpResponse:
    rows = selectors.reorder_rows(location=scope.location)
    return _page(
        request,
        scope,
        "dashboards/reorder.html",
        "reorder",
        {
            "rows": rows,
            "form": form or DraftOrderForm(choices=_draft_choices(rows)),
            "purchase_orders": selectors.purchase_orders_recent(location=scope.location),
        },
        status=status,
    )


def _draft_choices(rows: list) -> list[tuple[int, str]]:
    return [(row.pk, row.stock_item.variant.sku) for row in rows if row.supplier_id]


@require_GET
@dashboard
def reorder(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _reorder_page(request, scope)


@require_POST
@dashboard
def reorder_draft(request: HttpRequest, scope: Scope) -> HttpResponse:
    """Draft one purchase order per supplier from the ticked suggestions (stock's purchase_order_create)."""
    from apps.catalog.models import SupplierVariant

    rows = selectors.reorder_rows(location=scope.location)
    form = DraftOrderForm(request.POST, choices=_draft_choices(rows))
    if not form.is_valid():
        return _reorder_page(request, scope, form, status=400)
    chosen = [row for row in rows if row.pk in set(form.cleaned_data["suggestions"])]
    by_supplier: dict[int, list] = {}
    for row in chosen:
        by_supplier.setdefault(row.supplier_id, []).append(row)
    costs = {
        (sv.supplier_id, sv.variant_id): sv.cost
        for sv in SupplierVariant.objects.filter(supplier_id__in=list(by_supplier))
    }
    try:
        with transaction.atomic():
            drafted = [
                stock_services.purchase_order_create(
                    supplier=group[0].supplier,
                    location=scope.location,
                    lines=[
                        (
                            r.stock_item.variant,
                            r.suggested_quantity,
                            costs.get((supplier_id, r.stock_item.variant_id)),
                        )
                        for r in group
                    ],
                    reference="dashboard",
                )
                for supplier_id, group in sorted(by_supplier.items())
            ]
    except ApplicationError as exc:
        apply_service_error(form, exc, default_field="suggestions")
        return _reorder_page(request, scope, form, status=400)
    messages.success(request, f"Drafted {len(drafted)} purchase order(s): " + ", ".join(f"#{po.pk}" for po in drafted))
    return redirect("dashboards:reorder", location_id=scope.location.pk)


# ---------------------------------------------------------------------------------------------
# Reviews


def _reviews_page(request: HttpRequest, scope: Scope, bound: dict | None = None, status: int = 200) -> HttpResponse:
    if not selectors.reviews_enabled():
        return _page(request, scope, "dashboards/reviews.html", "reviews", {"enabled": False})
    bound = bound or {}
    reviews = selectors.reviews_recent(location=scope.location)
    return _page(
        request,
        scope,
        "dashboards/reviews.html",
        "reviews",
        {
            "enabled": True,
            "reviews": [
                (
                    review,
                    bound.get(("reply", review.pk))
                    or ReplyForm(
                        auto_id=f"reply{review.pk}_%s",
                        initial={"body": getattr(getattr(review, "reply", None), "body", "")},
                    ),
                    bound.get(("report", review.pk)) or ReportForm(auto_id=f"report{review.pk}_%s"),
                )
                for review in reviews
            ],
        },
        status=status,
    )


def _review_or_404(scope: Scope, review_id: int) -> Any:
    if not selectors.reviews_enabled():
        raise Http404("Reviews are not enabled.")
    review = selectors.reviews_of_location(location=scope.location).filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review.")
    return review


@require_GET
@dashboard
def reviews(request: HttpRequest, scope: Scope) -> HttpResponse:
    return _reviews_page(request, scope)


@require_POST
@dashboard
def review_reply(request: HttpRequest, scope: Scope, review_id: int) -> HttpResponse:
    from apps.reviews import services as review_services

    review = _review_or_404(scope, review_id)
    form = ReplyForm(request.POST, auto_id=f"reply{review.pk}_%s")
    if form.is_valid():
        try:
            review_services.review_reply_set(review=review, author=request.user, body=form.cleaned_data["body"])
        except ApplicationError as exc:
            apply_service_error(form, exc, default_field="body")
        else:
            messages.success(request, "Reply saved.")
            return redirect("dashboards:reviews", location_id=scope.location.pk)
    return _reviews_page(request, scope, {("reply", review.pk): form}, status=400)


@require_POST
@dashboard
def review_report(request: HttpRequest, scope: Scope, review_id: int) -> HttpResponse:
    from apps.reviews import services as review_services

    review = _review_or_404(scope, review_id)
    form = ReportForm(request.POST, auto_id=f"report{review.pk}_%s")
    if form.is_valid():
        try:
            review_services.review_report(
                review=review,
                reporter=request.user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            apply_service_error(form, exc, default_field="reason")
        else:
            messages.success(request, "Review reported to the moderators.")
            return redirect("dashboards:reviews", location_id=scope.location.pk)
    return _reviews_page(request, scope, {("report", review.pk): form}, status=400)
