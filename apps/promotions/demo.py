"""Demo promotions and coupons of every type for the demo tenant, and demo orders that used them
(placed through order_place, so their discounts are the pricing function's). Called once by
`manage.py seed_demo`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Category, Product, Variant
from apps.promotions import services
from apps.promotions.models import Coupon, Promotion
from apps.stock.models import Location

D = Decimal


def seed_promotions(*, retail_email: str, wholesale_email: str) -> int:
    """False-y (0) when already seeded; else the number of offers created."""
    if Promotion.objects.exists() or Coupon.objects.exists():
        return 0
    variants = list(Variant.objects.select_related("product").order_by("sku"))
    if len(variants) < 6:
        return 0
    sauces = Category.objects.order_by("id").first()
    product = Product.objects.order_by("id").first()
    now = timezone.now()
    year = now + dt.timedelta(days=365)

    def promo(name: str, kind: str, scope: str = "order", scopes: dict | None = None, **fields: object) -> Promotion:
        return services.offer_save(
            instance=Promotion(),
            fields={"name": name, "kind": kind, "scope": scope, "ends_at": year, **fields},
            scopes=scopes,
        )

    promo("10% off every sauce", "percent", "category", {"categories": [sauces]}, percent=D(10), priority=1)
    promo("1.00 off the first product", "amount", "product", {"products": [product]}, amount=D("1.00"))
    promo("Taster bottle for 3.99", "fixed_price", "product", {"variants": [variants[0]]}, fixed_price=D("3.99"))
    promo(
        "Buy 2 get 1 free on sauces",
        "bxgy",
        "category",
        {"categories": [sauces]},
        buy_quantity=2,
        get_quantity=1,
        priority=2,
    )
    promo(
        "Wholesale case prices",
        "volume",
        "product",
        {"variants": variants[:3]},
        tiers=[{"threshold": "12", "percent": "12"}, {"threshold": "24", "percent": "18"}],
        channels=["wholesale"],
    )
    promo("Gold and diamond: 5% off", "percent", percent=D(5), loyalty_tiers=["gold", "diamond"])
    promo("Free delivery over 40", "free_delivery", min_spend=D(40))
    promo("Flash sale (paused)", "percent", percent=D(30), is_active=False, exclusive=True)

    def coupon(code: str, name: str, kind: str, **fields: object) -> Coupon:
        made = services.offer_save(instance=Coupon(), fields={"name": name, "kind": kind, "ends_at": year, **fields})
        if code:
            services.coupon_code_create(coupon=made, code=code)
        return made

    coupon("WELCOME15", "15% off", "percent", percent=D(15), min_spend=D(20), per_customer_limit=1)
    coupon("FIVEOFF", "5.00 off", "amount", amount=D("5.00"), min_spend=D(25), per_customer_limit=None)
    coupon("SHIPFREE", "Free delivery", "free_delivery", per_customer_limit=None)
    coupon("B1G1", "Buy one get one half price", "bxgy", buy_quantity=1, get_quantity=1, get_percent=D(50))
    coupon("TOTEBAG", "Free tote", "free_gift", gift_variant=variants[-1], min_spend=D(30))
    coupon(
        "SPEND",
        "Spend more, save more",
        "tiered_spend",
        tiers=[
            {"threshold": "30", "amount": "3"},
            {"threshold": "60", "amount": "8"},
            {"threshold": "100", "amount": "15"},
        ],
    )
    coupon("FIRST20", "First order 20%", "first_order", percent=D(20))
    coupon("", "Happy birthday", "birthday", amount=D("5.00"), window_days=7)
    coupon("", "Friend's welcome", "referral", referral_role="friend", percent=D(10))
    coupon("", "Thanks for the referral", "referral", referral_role="referrer", amount=D("5.00"))
    coupon("", "We miss you", "win_back", percent=D(15), inactive_days=60)
    campaign = coupon("", "Summer flyer (single-use codes)", "amount", amount=D("3.00"), single_use_codes=True)
    services.coupon_codes_generate(coupon=campaign, count=50, prefix="SUMMER")

    # a birthday and a referral issued, and demo orders that used the codes
    customer = User.objects.filter(email=retail_email).first()
    buyer = User.objects.filter(email=wholesale_email).first()
    store = Location.objects.filter(code="north").first()
    if customer is not None and store is not None:
        _demo_orders(customer=customer, buyer=buyer, store=store, variants=variants)
    return Promotion.objects.count() + Coupon.objects.count()


def _demo_orders(*, customer: User, buyer: User | None, store: Location, variants: list[Variant]) -> None:
    from apps.orders.services import LineRequest, order_place

    friend, _ = User.objects.get_or_create(email="friend@demo.localhost", defaults={"kind": "retail"})
    issued = services.referral_coupons_issue(friend=friend, referrer=customer)
    for codes, lines in (
        (["FIVEOFF"], [(variants[1], 3), (variants[2], 1)]),
        (["TOTEBAG", "SHIPFREE"], [(variants[3], 4)]),
        (["SPEND"], [(variants[4], 6)]),
        (["b1g1"], [(variants[5], 2)]),
        ([c.code for c in [issued["friend"]] if c], [(variants[1], 1)]),
    ):
        who = friend if codes and issued["friend"] and codes[0] == issued["friend"].code else customer
        order_place(
            customer=who,
            channel="retail",
            fulfilment="shipping" if "SHIPFREE" in codes else "pickup",
            location=None if "SHIPFREE" in codes else store,
            lines=[LineRequest(v, q) for v, q in lines],
            delivery_fee=D("5.99") if "SHIPFREE" in codes else D("0"),
            coupon_codes=codes,
        )
    if buyer is not None:
        order_place(
            customer=buyer,
            channel="wholesale",
            fulfilment="shipping",
            on_account=True,
            lines=[LineRequest(variants[0], 24)],
        )  # the wholesale case price
