"""Dashboard pages through Django's test client: sign-in and its lockout, scoping (another
location's URL is 404), the actions calling the domain services, and every page and fragment in
the same number of queries with 1 and with 50 orders."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from apps.orders.models import Order
from apps.orders.services import order_arrival_announce
from apps.stock.models import Movement, StockItem
from tests.conftest import TENANT_A, login
from tests.dashboards.conftest import PASSWORD, place_orders

PAGES = ["today", "today/arrivals", "orders", "stock", "sales", "reorder", "reviews"]


def client_for(shop, user) -> Client:
    return login(Client(HTTP_HOST=TENANT_A.domain), shop.tenant, user)


def url(shop, page: str, location=None) -> str:
    return f"/dashboard/{(location or shop.store).pk}/{page}/"


def test_sign_in_with_the_staff_account_lands_on_today_of_the_managers_store(shop):
    client = Client(HTTP_HOST=TENANT_A.domain)
    assert client.get("/dashboard/").status_code == 302  # to the sign-in
    page = client.get("/dashboard/sign-in/?next=/dashboard/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    signed = client.post(
        "/dashboard/sign-in/", {"username": shop.manager.email, "password": PASSWORD, "next": "/dashboard/"}
    )
    assert signed.status_code == 302 and signed["Location"] == "/dashboard/"
    home = client.get("/dashboard/")
    assert home.status_code == 302 and home["Location"] == url(shop, "today")
    assert client.get(home["Location"]).status_code == 200


def test_sign_in_locks_the_address_after_repeated_failures(shop, settings):
    settings.LOGIN_LOCKOUT_ATTEMPTS = 3
    client = Client(HTTP_HOST=TENANT_A.domain)
    for _ in range(3):
        client.post("/dashboard/sign-in/", {"username": shop.manager.email, "password": "wrong"})
    locked = client.post("/dashboard/sign-in/", {"username": shop.manager.email, "password": PASSWORD})
    assert locked.status_code == 200 and b"Too many failed sign-ins" in locked.content
    assert "_auth_user_id" not in client.session


def test_a_customer_account_cannot_sign_in_to_the_dashboard(shop):
    client = Client(HTTP_HOST=TENANT_A.domain)
    refused = client.post("/dashboard/sign-in/", {"username": shop.customer.email, "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session


def test_a_store_manager_sees_only_their_location_and_another_is_404(shop):
    client = client_for(shop, shop.manager)
    for page in PAGES:
        assert client.get(url(shop, page)).status_code == 200, page
        assert client.get(url(shop, page, shop.other)).status_code == 404, page
    assert client.get(f"/dashboard/switch/?location={shop.other.pk}&page=stock").status_code == 404
    with tenant_context(shop.tenant):
        order = place_orders(shop, 1)[0]
        order.location = shop.other
    assert client.get(f"/dashboard/{shop.store.pk}/orders/{order.pk}/").status_code == 200
    assert client.get(f"/dashboard/{shop.other.pk}/orders/{order.pk}/").status_code == 404


def test_an_owner_sees_every_location_and_switches(shop):
    client = client_for(shop, shop.owner)
    home = client.get("/dashboard/")
    assert home.status_code == 200 and shop.other.name.encode() in home.content
    switched = client.get(f"/dashboard/switch/?location={shop.other.pk}&page=stock")
    assert switched.status_code == 302 and switched["Location"] == url(shop, "stock", shop.other)
    assert client.get(url(shop, "stock", shop.other)).status_code == 200


def test_staff_without_a_role_are_refused(shop):
    from tests.conftest import make_staff

    nobody = make_staff(shop.tenant, email="norole@example.com", role=None)
    assert client_for(shop, nobody).get(url(shop, "today")).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_the_same_number_of_queries_with_1_and_50_orders(shop, page, django_assert_max_num_queries):
    client = client_for(shop, shop.manager)
    place_orders(shop, 1)
    client.get(url(shop, page))  # warm-up (content types, session)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url(shop, page)).status_code == 200
    place_orders(shop, 49)
    with tenant_context(shop.tenant):
        assert Order.objects.filter(location=shop.store).count() == 50
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(url(shop, page)).status_code == 200
    real = [q["sql"] for q in one.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(real) <= 12, real  # tenant, session, user, roles, locations + the page's own reads


def test_order_detail_and_csv_are_constant_in_queries(shop, django_assert_max_num_queries):
    client = client_for(shop, shop.manager)
    first = place_orders(shop, 1)[0]
    client.get(f"/dashboard/{shop.store.pk}/orders/{first.pk}/")
    with CaptureQueriesContext(connection) as one:
        client.get(f"/dashboard/{shop.store.pk}/sales.csv")
    place_orders(shop, 49)
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert client.get(f"/dashboard/{shop.store.pk}/sales.csv").status_code == 200
    with django_assert_max_num_queries(16):  # 8 reads, each after its SET search_path
        assert client.get(f"/dashboard/{shop.store.pk}/orders/{first.pk}/").status_code == 200


def test_an_order_moves_through_its_states_from_the_orders_page(shop):
    client = client_for(shop, shop.manager)
    order = place_orders(shop, 2)[1]  # paid pickup
    move = f"/dashboard/{shop.store.pk}/orders/{order.pk}/move/"
    for action, status in [("preparing", "preparing"), ("ready", "ready"), ("completed", "completed")]:
        response = client.post(move, {"action": action}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and f'data-status="{status}"'.encode() in response.content
    with tenant_context(shop.tenant):
        done = Order.objects.get(pk=order.pk)
        trail = [e.to_status for e in done.events.order_by("id")]
        assert trail == ["placed", "paid", "preparing", "ready", "completed"]
        assert done.events.last().actor == shop.manager.email
        assert Movement.objects.filter(kind="sale", reference=order.number).exists() or done.status == "completed"


def test_an_invalid_move_shows_the_services_message(shop):
    client = client_for(shop, shop.manager)
    placed = place_orders(shop, 1)[0]  # placed, unpaid
    response = client.post(
        f"/dashboard/{shop.store.pk}/orders/{placed.pk}/move/", {"action": "ready"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"cannot become ready" in response.content
    plain = client.post(f"/dashboard/{shop.store.pk}/orders/{placed.pk}/move/", {"action": "ready"})
    assert plain.status_code == 302
    assert b"cannot become ready" in client.get(plain["Location"]).content


def test_a_curbside_arrival_shows_on_the_fragment_and_is_handed_over(shop):
    client = client_for(shop, shop.manager)
    curbside = place_orders(shop, 3)[2]  # curbside, preparing
    fragment = url(shop, "today/arrivals")
    empty = client.get(fragment)
    assert b"Nobody is waiting" in empty.content
    signature = empty.content.split(b'data-signature="')[1].split(b'"')[0].decode()
    assert client.get(f"{fragment}?v={signature}").status_code == 204  # unchanged: nothing to swap
    with tenant_context(shop.tenant):
        order_arrival_announce(order=curbside, bay="4", car="Red Fiat")
    card = client.get(f"{fragment}?v={signature}")
    assert card.status_code == 200 and b"Bay 4" in card.content and b"Red Fiat" in card.content
    with tenant_context(shop.tenant):
        order_transition_to_ready(curbside)
    handed = client.post(
        f"/dashboard/{shop.store.pk}/orders/{curbside.pk}/move/",
        {"action": "hand_over", "fragment": "arrivals"},
        HTTP_HX_REQUEST="true",
    )
    assert handed.status_code == 200 and b"Nobody is waiting" in handed.content
    with tenant_context(shop.tenant):
        assert Order.objects.get(pk=curbside.pk).status == "completed"


def order_transition_to_ready(order):
    from apps.orders.services import order_transition

    order_transition(order=order, to="ready")


def test_stock_adjust_calls_the_service_and_the_ledger_shows_it(shop):
    client = client_for(shop, shop.manager)
    done = client.post(
        f"/dashboard/{shop.store.pk}/stock/adjust/",
        {"sku": shop.chips.sku, "reason": "damaged", "quantity": "3", "note": "dropped a box"},
    )
    assert done.status_code == 302
    page = client.get(done["Location"])
    assert b"dropped a box" in page.content
    with tenant_context(shop.tenant):
        item = StockItem.objects.get(location=shop.store, variant=shop.chips)
        assert (item.on_hand, item.damaged) == (397, 3)
        movement = Movement.objects.filter(kind="adjustment").get()
        assert (movement.reason, movement.on_hand_delta, movement.actor) == ("damaged", -3, shop.manager.email)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"reason": "lost", "quantity": "0"}, "quantity", b"Must be at least 1."),
        ({"reason": "lost", "quantity": "5000"}, "quantity", b"Only 400 unreserved units"),
        ({"reason": "lost", "quantity": "1.5"}, "quantity", b"Enter a whole number."),
        ({"reason": "nope", "quantity": "1"}, "reason", b"Select a valid choice."),
        ({"sku": "NOPE", "reason": "lost", "quantity": "1"}, "sku", b"No product has this SKU."),
    ],
)
def test_an_adjust_error_is_shown_next_to_its_field(shop, body, field, message):
    client = client_for(shop, shop.manager)
    response = client.post(f"/dashboard/{shop.store.pk}/stock/adjust/", {"sku": shop.chips.sku, **body})
    assert response.status_code == 400
    html = response.content.decode()
    block = html.split(f'data-field="{field}"')[1].split("</div>")[0]
    assert message.decode() in block
    with tenant_context(shop.tenant):
        assert not Movement.objects.filter(kind="adjustment").exists()


def test_a_lot_tracked_adjust_without_its_lot_is_refused_on_the_lot_field(shop):
    client = client_for(shop, shop.manager)
    response = client.post(
        f"/dashboard/{shop.store.pk}/stock/adjust/", {"sku": shop.sauce.sku, "reason": "lost", "quantity": "1"}
    )
    block = response.content.decode().split('data-field="lot"')[1].split("</div>")[0]
    assert "Required." in block
    ok = client.post(
        f"/dashboard/{shop.store.pk}/stock/adjust/",
        {"sku": shop.sauce.sku, "reason": "lost", "quantity": "1", "lot": "S1"},
    )
    assert ok.status_code == 302


def test_count_and_transfer_go_through_the_stock_services(shop):
    client = client_for(shop, shop.manager)
    assert (
        client.post(f"/dashboard/{shop.store.pk}/stock/count/", {"sku": shop.chips.sku, "counted": "390"}).status_code
        == 302
    )
    sent = client.post(
        f"/dashboard/{shop.store.pk}/stock/transfer/",
        {"sku": shop.chips.sku, "to_location": str(shop.other.pk), "quantity": "10"},
    )
    assert sent.status_code == 302
    with tenant_context(shop.tenant):
        assert StockItem.objects.get(location=shop.store, variant=shop.chips).on_hand == 380
        assert StockItem.objects.get(location=shop.other, variant=shop.chips).in_transit == 10
    same = client.post(
        f"/dashboard/{shop.store.pk}/stock/transfer/",
        {"sku": shop.chips.sku, "to_location": str(shop.store.pk), "quantity": "1"},
    )
    assert same.status_code == 400 and b"Select a valid choice" in same.content


def test_forms_refuse_a_post_without_the_csrf_token(shop):
    client = Client(HTTP_HOST=TENANT_A.domain, enforce_csrf_checks=True)
    login(client, shop.tenant, shop.manager)
    refused = client.post(f"/dashboard/{shop.store.pk}/stock/adjust/", {"sku": shop.chips.sku, "quantity": "1"})
    assert refused.status_code == 403


def test_money_is_in_the_tenants_currency_and_times_in_its_timezone(shop):
    client = client_for(shop, shop.manager)
    order = place_orders(shop, 5)[4]  # completed
    page = client.get(url(shop, "today")).content.decode()
    assert "$53.40" in page  # 4 of the 5 past payment today (paid, preparing, ready, completed) x 13.35
    detail = client.get(f"/dashboard/{shop.store.pk}/orders/{order.pk}/").content.decode()
    from zoneinfo import ZoneInfo

    local = order.placed_at.astimezone(ZoneInfo(TENANT_A.timezone))
    assert local.strftime("%H:%M") in detail


def test_sales_page_chart_and_csv_show_the_same_figures(shop):
    client = client_for(shop, shop.manager)
    place_orders(shop, 6)
    page = client.get(url(shop, "sales")).content.decode()
    assert "<svg" in page and 'role="img"' in page and "Revenue by day" in page
    csv_text = client.get(f"/dashboard/{shop.store.pk}/sales.csv").content.decode()
    rows = [line.split(",") for line in csv_text.strip().splitlines()]
    assert rows[0] == ["section", "label", "orders", "units", "revenue"]
    total = next(r for r in rows if r[:2] == ["total", "orders"])
    # placed and cancelled do not count: 4 of the 6 walks (paid, preparing, ready, completed)
    assert total[2] == "4" and total[4].strip() == "53.40"
    assert "$53.40" in page
    bad = client.get(url(shop, "sales") + "?start=2026-05-01&end=2026-04-01")
    assert bad.status_code == 200 and "The end is before the start." in bad.content.decode()


def test_reorder_drafts_a_purchase_order_through_the_stock_service(shop):
    from apps.catalog.models import Supplier
    from apps.stock.models import PurchaseOrder, ReorderSuggestion

    with tenant_context(shop.tenant):
        supplier = Supplier.objects.create(name="Valley Farm")
        item = StockItem.objects.get(location=shop.store, variant=shop.chips)
        suggestion = ReorderSuggestion.objects.create(
            stock_item=item,
            supplier=supplier,
            daily_velocity="4.000",
            days_of_cover="2.0",
            suggested_quantity=120,
            computed_at=dt.datetime.now(dt.UTC),
        )
    client = client_for(shop, shop.manager)
    page = client.get(url(shop, "reorder"))
    assert shop.chips.sku.encode() in page.content
    drafted = client.post(f"/dashboard/{shop.store.pk}/reorder/draft/", {"suggestions": [suggestion.pk]})
    assert drafted.status_code == 302
    with tenant_context(shop.tenant):
        po = PurchaseOrder.objects.get()
        assert (po.location_id, po.supplier_id, po.status) == (shop.store.pk, supplier.pk, "draft")
        assert [(line.variant_id, line.quantity) for line in po.lines.all()] == [(shop.chips.pk, 120)]
    refused = client.post(f"/dashboard/{shop.store.pk}/reorder/draft/", {"suggestions": ["999999"]})
    assert refused.status_code == 400


def _reviews(shop):
    """A published review of the store and one of a product it stocks, and one elsewhere (test rows:
    the review services' own creation path needs a completed order per customer)."""
    from apps.reviews.models import Review, ReviewStatus

    with tenant_context(shop.tenant):
        now = dt.datetime.now(dt.UTC)
        store_review = Review.objects.create(
            customer=shop.customer,
            location=shop.store,
            rating=4,
            title="Friendly",
            status=ReviewStatus.PUBLISHED,
            published_at=now,
        )
        product_review = Review.objects.create(
            customer=shop.customer,
            product=shop.chips.product,
            rating=2,
            title="Too salty",
            status=ReviewStatus.PUBLISHED,
            published_at=now,
        )
        elsewhere = Review.objects.create(
            customer=shop.customer,
            location=shop.other,
            rating=5,
            title="Elsewhere",
            status=ReviewStatus.PUBLISHED,
            published_at=now,
        )
    return store_review, product_review, elsewhere


def test_reviews_of_the_location_and_its_products_with_reply_and_report(shop):
    from apps.reviews.models import ReviewReply, ReviewReport

    store_review, product_review, elsewhere = _reviews(shop)
    client = client_for(shop, shop.manager)
    page = client.get(url(shop, "reviews")).content.decode()
    assert "Friendly" in page and "Too salty" in page and "Elsewhere" not in page
    base = f"/dashboard/{shop.store.pk}/reviews"
    assert client.post(f"{base}/{product_review.pk}/reply/", {"body": "We changed the recipe."}).status_code == 302
    empty = client.post(f"{base}/{product_review.pk}/reply/", {"body": "   "})
    block = empty.content.decode().split(f'id="reply{product_review.pk}_body"')[1].split("</div>")[0]
    assert empty.status_code == 400 and "This field is required." in block
    assert client.post(f"{base}/{store_review.pk}/report/", {"reason": "fake"}).status_code == 302
    again = client.post(f"{base}/{store_review.pk}/report/", {"reason": "fake"})
    assert again.status_code == 400  # the service's "already reported", shown on the form
    assert client.post(f"{base}/{elsewhere.pk}/reply/", {"body": "Hi"}).status_code == 404
    with tenant_context(shop.tenant):
        assert ReviewReply.objects.get(review=product_review).body == "We changed the recipe."
        assert ReviewReport.objects.filter(review=store_review, reporter=shop.manager).count() == 1


def test_reviews_page_is_constant_in_queries_with_replies(shop, django_assert_max_num_queries):
    _reviews(shop)
    client = client_for(shop, shop.manager)
    client.get(url(shop, "reviews"))
    with django_assert_max_num_queries(14):  # 7 reads, each after its SET search_path
        assert client.get(url(shop, "reviews")).status_code == 200


def test_a_shipping_order_ships_with_carrier_and_tracking_and_a_missing_number_is_shown_on_its_field(shop):
    from apps.orders.services import LineRequest, order_place, order_transition

    with tenant_context(shop.tenant):
        order = order_place(
            customer=shop.customer, channel="retail", fulfilment="shipping", lines=[LineRequest(shop.chips, 2)]
        )
        order_transition(order=order, to="paid")
        order_transition(order=order, to="preparing")
        order.refresh_from_db()
    client = client_for(shop, shop.owner)
    ship = f"/dashboard/{order.location_id}/orders/{order.pk}/ship/"
    queue = client.get(f"/dashboard/{order.location_id}/orders/?fulfilment=shipping").content.decode()
    assert f"Ship {order.number}" in queue
    missing = client.post(ship, {"carrier": "ups", "tracking_number": ""}, HTTP_HX_REQUEST="true").content.decode()
    field = missing.split(f'id="tracking-{order.pk}"')[1].split("</div>")[0]
    assert "This field is required." in field and 'aria-invalid="true"' in missing
    shipped = client.post(ship, {"carrier": "ups", "tracking_number": "1Z999"}, HTTP_HX_REQUEST="true")
    assert shipped.status_code == 200 and b'data-status="shipped"' in shipped.content
    with tenant_context(shop.tenant):
        done = Order.objects.get(pk=order.pk)
        assert (done.status, done.carrier, done.tracking_number) == ("shipped", "ups", "1Z999")


def test_stock_filters_low_expiring_search_and_category(shop):
    client = client_for(shop, shop.manager)

    def skus(query: str) -> set[str]:
        html = client.get(url(shop, "stock") + query).content.decode()
        return {chunk.split('"')[0] for chunk in html.split('<tr data-sku="')[1:]}

    both = {shop.chips.sku, shop.sauce.sku}
    assert skus("") == both
    assert skus("?low=1") == {shop.chips.sku}  # 400 available, reorder point 500
    assert skus("?expiring=7") == {shop.sauce.sku}  # its lot expires in 5 days
    assert skus("?expiring=2") == set()
    assert skus(f"?q={shop.chips.sku.lower()}") == {shop.chips.sku}  # (both products are "Hot Sauce n")
    with tenant_context(shop.tenant):
        category = shop.chips.product.category_id
    assert skus(f"?category={category}") == both
    assert skus("?category=999999") == set()
    assert skus("?expiring=abc&category=x") == both  # ignored, not a 500
    page = client.get(url(shop, "stock")).content.decode()
    assert "expires soon" in page  # the lot's warning


def test_sales_by_week_and_its_csv(shop):
    client = client_for(shop, shop.manager)
    place_orders(shop, 6)
    page = client.get(url(shop, "sales") + "?granularity=week")
    assert page.status_code == 200 and "Revenue by week" in page.content.decode()
    rows = client.get(f"/dashboard/{shop.store.pk}/sales.csv?granularity=week").content.decode().splitlines()
    weeks = [row for row in rows if row.startswith("week,")]
    assert 4 <= len(weeks) <= 6  # the 30 days' weeks, empty ones as zero
    assert sum(float(row.split(",")[4]) for row in weeks) == 53.40
