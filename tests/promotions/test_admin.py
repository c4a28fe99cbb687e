"""The staff admin screens: create, pause and clone, generate and export codes, see usage, and
preview a sample cart with the explanation."""

from decimal import Decimal as D

from django_tenants.utils import tenant_context

from apps.promotions import services
from apps.promotions.models import Coupon, CouponCode, Promotion
from tests import factories as f


def test_admin_creates_pauses_and_clones_a_promotion(tenant_a, staff_client_a):
    response = staff_client_a.post(
        "/admin/promotions/promotion/add/",
        {
            "name": "Bogo",
            "kind": "bxgy",
            "scope": "order",
            "buy_quantity": "1",
            "get_quantity": "1",
            "get_percent": "100",
            "tiers": "[]",
            "channels": "retail,wholesale",
            "loyalty_tiers": "",
            "combines_with": "item,order,delivery",
            "priority": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(tenant_a):
        promo = Promotion.objects.get(name="Bogo")
    staff_client_a.post("/admin/promotions/promotion/", {"action": "pause", "_selected_action": [promo.pk]})
    staff_client_a.post("/admin/promotions/promotion/", {"action": "clone", "_selected_action": [promo.pk]})
    with tenant_context(tenant_a):
        assert not Promotion.objects.get(pk=promo.pk).is_active
        assert Promotion.objects.filter(name="Bogo (copy)", is_active=False).exists()


def test_admin_generates_codes_exports_them_and_shows_usage(tenant_a, staff_client_a):
    with tenant_context(tenant_a):
        coupon = services.offer_save(instance=Coupon(), fields={"name": "Flyer", "kind": "amount", "amount": D(2)})
    response = staff_client_a.post(f"/admin/promotions/coupon/{coupon.pk}/generate/", {"count": "40", "prefix": "FLY"})
    assert response.status_code == 302
    with tenant_context(tenant_a):
        assert CouponCode.objects.filter(coupon=coupon, code__startswith="FLY").count() == 40
    csv = staff_client_a.get(f"/admin/promotions/coupon/{coupon.pk}/codes.csv")
    assert csv.status_code == 200 and len(csv.content.splitlines()) == 41
    page = staff_client_a.get(f"/admin/promotions/coupon/{coupon.pk}/change/")
    assert page.status_code == 200 and b"0 of 40 codes used" in page.content


def test_admin_previews_a_sample_cart_with_the_explanation(tenant_a, staff_client_a):
    with tenant_context(tenant_a):
        f.variant(sku="PREV-1", price="10.00")
        services.offer_save(instance=Promotion(), fields={"name": "Tenner", "kind": "percent", "percent": D(10)})
        coupon = services.offer_save(
            instance=Coupon(), fields={"name": "Big spender", "kind": "amount", "amount": D(5), "min_spend": D(50)}
        )
        services.coupon_code_create(coupon=coupon, code="BIG50")
    response = staff_client_a.post(
        "/admin/promotions/promotion/preview/",
        {"lines": "PREV-1 2", "channel": "retail", "fulfilment": "pickup", "codes": "big50, nope1"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "total 18.00" in body and "minimum spend 50.00 not reached" in body and "not valid" in body
