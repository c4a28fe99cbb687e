"""The demo's store manager lands on a Today page with live data: open orders, a curbside customer
waiting with bay and car, low stock and reorder suggestions."""

from django.test import Client
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User, UserKind, WholesaleAccount
from apps.dashboards.demo import seed_dashboards
from apps.orders.demo import seed_orders
from apps.stock.demo import seed_catalog_and_stock
from apps.stock.models import Location, ReorderSuggestion
from tests.conftest import TENANT_A, login, make_staff


def test_the_demo_manager_lands_on_today_with_a_waiting_curbside_customer(tenant_a):
    manager = make_staff(tenant_a, email="manager@demo.test", role="Store Manager")
    with tenant_context(tenant_a):
        User.objects.create_user("retail@demo.test", "pw-Example-123", kind=UserKind.RETAIL, full_name="Rita")
        account = WholesaleAccount.objects.create(
            name="Deli",
            tax_id="1",
            billing_address="Main St",
            is_approved=True,
            approved_at=timezone.now(),
            credit_limit=5000,  # as seed_demo's: the demo's order on account fits its credit
        )
        User.objects.create_user(
            "buyer@demo.test", "pw-Example-123", kind=UserKind.WHOLESALE, wholesale_account=account
        )
        assert seed_catalog_and_stock()
        Location.objects.get(code="north").managers.add(manager)
        seed_orders(retail_email="retail@demo.test", wholesale_email="buyer@demo.test")
        assert seed_dashboards() >= 1
        assert seed_dashboards() == 0  # once
        north = Location.objects.get(code="north")
        suggestions = ReorderSuggestion.objects.count()
    client = login(Client(HTTP_HOST=TENANT_A.domain), tenant_a, manager)
    landing = client.get("/dashboard/", follow=True)
    assert landing.redirect_chain[-1][0] == f"/dashboard/{north.pk}/today/"
    page = landing.content.decode()
    assert "Bay 2" in page and "Green Mini Cooper" in page and "Hand over" in page
    assert "Ready for pickup (1)" in page
    reorder = client.get(f"/dashboard/{north.pk}/reorder/").content.decode()
    assert suggestions == 0 or "Draft purchase orders" in reorder
