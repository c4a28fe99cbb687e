"""The dashboards in a real browser (Debian's chromium driven by playwright) against a real
server (gunicorn, as production runs it) on committed data: sign in with the keyboard, another
location's URL is 404, a curbside arrival announced through the API appears live and is handed
over, a stock adjustment shows in the ledger, an order moves through its states, a form error
sits next to its field; screenshots of every page at 1280x800 and 1024x768 (no horizontal
scrolling at the tablet size) under test-output/dashboards/ (or DASHBOARD_SCREENSHOTS)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from apps.accounts import services as account_services
from apps.orders.models import Order
from apps.stock.models import Movement
from apps.tenants.models import Tenant
from tests.conftest import TENANT_A, _clean_tenant_tables
from tests.dashboards.conftest import PASSWORD, Shop, build_shop, place_orders
from tests.servers import gunicorn_server

pytestmark = [pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
SIZES = [(1280, 800), (1024, 768)]
PAGES = ["today", "orders", "stock", "sales", "reorder", "reviews"]
SHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", settings.BASE_DIR / "test-output" / "dashboards"))


@dataclass
class World:
    shop: Shop
    orders: list[Order]
    customer_token: str


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock():
        try:
            tenant = Tenant.objects.get(schema_name=TENANT_A.schema)
            shop = build_shop(tenant, prefix="b-")
            orders = place_orders(shop, 12)
            with tenant_context(tenant):
                token = account_services.session_start(user=shop.customer, device_name="browser test").access
            yield World(shop, orders, token)
        finally:
            connection.set_schema_to_public()
            _clean_tenant_tables()


@pytest.fixture(scope="module")
def server(world, tmp_path_factory) -> Iterator[str]:
    """gunicorn (gthread) on a free port against the test database and Redis (tests/servers.py)."""
    log = tmp_path_factory.mktemp("dashboards") / "server.log"
    with gunicorn_server(log, settings_module="tests.dashboards.browser_settings") as port:
        yield f"http://{TENANT_A.domain}:{port}"


@pytest.fixture(scope="module")
def browser(server) -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    # The ORM is used in this thread beside playwright's sync API (which runs an event loop); only
    # for this module.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                f"--host-resolver-rules=MAP {TENANT_A.domain} 127.0.0.1",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def signed_in(browser, server: str, email: str, size: tuple[int, int] = SIZES[0]):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{server}/dashboard/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda address: "/sign-in/" not in address)  # managers land on Today, owners pick
    return context, page


def test_sign_in_with_the_keyboard_and_another_locations_url_is_404(browser, server, world):
    shop = world.shop
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server}/dashboard/")
    assert "/dashboard/sign-in/" in page.url
    assert page.evaluate("document.activeElement.id") == "id_username"  # focus starts on the e-mail
    page.keyboard.type(shop.manager.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/dashboard/{shop.store.pk}/today/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.get_by_role("heading", level=1).inner_text().startswith("Today at North Store")
    other = page.goto(f"{server}/dashboard/{shop.other.pk}/today/")
    assert other.status == 404
    assert page.goto(f"{server}/dashboard/{shop.store.pk}/stock/").status == 200
    context.close()


def test_a_curbside_arrival_announced_through_the_api_appears_live_and_is_handed_over(browser, server, world):
    shop = world.shop
    curbside = world.orders[2]  # curbside, preparing
    context, page = signed_in(browser, server, shop.manager.email)
    page.wait_for_selector("#arrivals")
    assert page.locator(f'article[data-order="{curbside.number}"]').count() == 0
    page.wait_for_timeout(300)
    started = time.monotonic()
    announced = requests.post(
        f"{server.replace(TENANT_A.domain, '127.0.0.1')}/api/v1/orders/{curbside.pk}/arrival",
        json={"bay": "7", "car": "Blue Volvo"},
        headers={"Host": TENANT_A.domain, "Authorization": f"Bearer {world.customer_token}"},
        timeout=10,
    )
    assert announced.status_code == 200, announced.text
    card = page.locator(f'article[data-order="{curbside.number}"]')
    card.wait_for(state="visible", timeout=4_000)
    seen_after = time.monotonic() - started
    assert "Bay 7" in card.inner_text() and "Blue Volvo" in card.inner_text()
    assert seen_after < 3.0, f"the card took {seen_after:.1f} s"  # polled every 2 s
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "curbside-latency.txt").write_text(f"card visible {seen_after:.2f} s after the API call\n")
    page.screenshot(path=str(SHOTS / "today-arrival-1280x800.png"), full_page=True)
    with tenant_context(shop.tenant):
        from apps.orders.services import order_transition

        order_transition(order=curbside, to="ready")  # packed while the customer parked
    card.get_by_role("button", name=f"Hand over {curbside.number}").click()
    card.wait_for(state="detached")
    with tenant_context(shop.tenant):
        assert Order.objects.get(pk=curbside.pk).status == "completed"
    context.close()


def test_adjust_stock_and_see_the_ledger_entry_then_an_error_next_to_its_field(browser, server, world):
    shop = world.shop
    context, page = signed_in(browser, server, shop.manager.email)
    page.goto(f"{server}/dashboard/{shop.store.pk}/stock/")
    form = page.locator("#adjust-form")
    form.get_by_label("SKU").fill(shop.chips.sku)
    form.get_by_label("Reason").select_option("found")
    form.get_by_label("Quantity").fill("4")
    form.get_by_label("Note").fill("found behind the shelf")
    form.get_by_role("button", name="Adjust stock").click()
    page.wait_for_selector(".messages")
    row = page.locator("#ledger tbody tr").first
    assert "found behind the shelf" in row.inner_text() and "4" in row.inner_text()
    with tenant_context(shop.tenant):
        assert Movement.objects.filter(kind="adjustment", note="found behind the shelf", on_hand_delta=4).exists()
    form = page.locator("#adjust-form")
    form.get_by_label("SKU").fill(shop.chips.sku)
    form.get_by_label("Reason").select_option("lost")
    form.get_by_label("Quantity").fill("0")
    form.get_by_role("button", name="Adjust stock").click()
    field = page.locator('#adjust-form [data-field="quantity"]')
    field.locator(".errorlist").wait_for()
    assert field.locator(".errorlist").inner_text() == "Must be at least 1."
    assert field.locator("input").get_attribute("aria-invalid") == "true"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "stock-error-1280x800.png"), full_page=True)
    context.close()


def test_an_order_moves_through_its_states_with_one_click_each(browser, server, world):
    shop = world.shop
    paid = world.orders[7]  # pickup, paid (the second walk, second round)
    context, page = signed_in(browser, server, shop.manager.email)
    page.goto(f"{server}/dashboard/{shop.store.pk}/orders/")
    row = page.locator(f"#order-{paid.pk}")
    assert row.get_attribute("data-status") == "paid"
    # Keyboard only: Enter on the focused button; after each move the focus is on the next one.
    page.locator(f"#order-{paid.pk}").get_by_role("button", name=f"Prepare {paid.number}").focus()
    for label, status in [("Prepare", "preparing"), ("Ready", "ready"), ("Complete", "completed")]:
        assert page.evaluate("document.activeElement.getAttribute('aria-label')") == f"{label} {paid.number}"
        page.keyboard.press("Enter")
        page.wait_for_selector(f'#order-{paid.pk}[data-status="{status}"]')
        page.wait_for_timeout(100)  # htmx settles (and moves the focus) after the swap
    page.goto(f"{server}/dashboard/{shop.store.pk}/orders/{paid.pk}/")
    trail = page.locator("ol").inner_text()
    for status in ("paid → preparing", "preparing → ready", "ready → completed"):
        assert status in trail
    context.close()


def test_screenshots_of_every_page_at_both_sizes_without_horizontal_scrolling(browser, server, world):
    shop = world.shop
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in SIZES:
        context, page = signed_in(browser, server, shop.owner.email, (width, height))
        for name in PAGES:
            response = page.goto(f"{server}/dashboard/{shop.store.pk}/{name}/")
            assert response.status == 200, name
            page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}x{height}"
            unlabeled = page.evaluate(
                """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                   .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).length"""
            )
            assert unlabeled == 0, f"{name} has {unlabeled} form controls without a label"
        context.close()
    assert len(list(SHOTS.glob("*-1024x768.png"))) >= len(PAGES)
