"""The pure pricing function: every promotion type in every scope, every coupon mechanic, the
combination and tie-break rules, rounding, and hypothesis properties. No database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.promotions.pricing import Cart, CartLine, Offer, Tier, price_cart

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
SAUCES, SNACKS = 10, 20


def line(variant, price, qty=1, product=None, category=SAUCES, discountable=True):
    return CartLine(
        variant_id=variant,
        product_id=product or variant,
        quantity=qty,
        unit_price=D(price),
        sku=f"V{variant}",
        name=f"v{variant}",
        category_ids=frozenset({category, 1}),
        discountable=discountable,
    )


def promo(id, kind, scope="order", **kw):
    return Offer(id=id, source="promotion", name=f"p{id}", kind=kind, scope=scope, **kw)


def coupon(id, kind, scope="order", code=None, **kw):
    return Offer(id=id, source="coupon", name=f"c{id}", kind=kind, scope=scope, code=code or f"C{id}", **kw)


def quote(lines, offers, **cart):
    return price_cart(Cart(lines=tuple(lines), **cart), offers, now=NOW)


def status(q, offer):
    return next(c for c in q.considered if c["offer"] == offer.key)


# --- the five promotion types in the three scopes ----------------------------------------------


def test_percent_off_each_scope():
    cart = [line(1, "10.00", 2), line(2, "5.00", 1, category=SNACKS)]
    assert quote(cart, [promo(1, "percent", percent=D(10))]).discount == D("2.50")
    assert quote(
        cart, [promo(1, "percent", "category", category_ids=frozenset({SNACKS}), percent=D(10))]
    ).discount == D("0.50")
    by_product = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(10))
    assert quote(cart, [by_product]).discount == D("2.00")
    by_variant = promo(1, "percent", "product", variant_ids=frozenset({2}), percent=D(50))
    assert quote(cart, [by_variant]).discount == D("2.50")


def test_amount_off_per_unit_on_items_and_once_on_the_order():
    cart = [line(1, "10.00", 3)]
    assert quote(cart, [promo(1, "amount", "product", product_ids=frozenset({1}), amount=D(1))]).discount == D("3.00")
    assert quote(cart, [promo(1, "amount", amount=D(1))]).discount == D("1.00")


def test_fixed_price_per_unit_and_for_the_order():
    cart = [line(1, "10.00", 2), line(2, "6.00")]
    q = quote(cart, [promo(1, "fixed_price", "category", category_ids=frozenset({SAUCES}), fixed_price=D("7.00"))])
    assert q.discount == D("6.00")  # 3 + 3; the 6.00 sauce is already below the fixed price
    q = quote(cart, [promo(1, "fixed_price", fixed_price=D("20.00"))])
    assert (q.discount, q.total) == (D("6.00"), D("20.00"))


def test_fixed_price_above_the_price_takes_nothing():
    q = quote([line(1, "5.00")], [promo(1, "fixed_price", "product", product_ids=frozenset({1}), fixed_price=D(9))])
    assert q.discount == 0 and status(q, promo(1, "fixed_price"))["status"] == "lost"


def test_buy_x_get_y_discounts_the_cheapest_unit_across_split_lines():
    # same product on two lines (split), plus a cheaper one: buy 2 get 1 free -> the 4.00 unit is free
    cart = [line(1, "10.00", 1), line(1, "10.00", 1), line(2, "4.00", 1, product=9)]
    offer = promo(1, "bxgy", "category", category_ids=frozenset({SAUCES}), buy_quantity=2, get_quantity=1)
    q = quote(cart, [offer])
    assert q.discount == D("4.00")
    assert [ln.discount for ln in q.lines] == [D("0.00"), D("0.00"), D("4.00")]


def test_buy_x_get_y_groups_by_price_and_half_off():
    cart = [line(1, "10.00", 2), line(2, "8.00", 2)]
    offer = promo(1, "bxgy", buy_quantity=1, get_quantity=1, get_percent=D(50))
    q = quote(cart, [offer])  # groups (10,10) (8,8): one 10 and one 8 at half price
    assert q.discount == D("9.00")


def test_buy_x_get_y_needs_enough_units():
    q = quote([line(1, "10.00", 2)], [promo(1, "bxgy", buy_quantity=2, get_quantity=1)])
    assert status(q, promo(1, "bxgy"))["reason"].startswith("needs 3 eligible units")


def test_volume_tier_case_price_for_wholesale():
    tiers = (Tier(D(12), unit_price=D("3.00")), Tier(D(24), unit_price=D("2.50")))
    case = promo(1, "volume", "product", product_ids=frozenset({1}), tiers=tiers, channels=frozenset({"wholesale"}))
    assert quote([line(1, "4.00", 24)], [case], channel="wholesale").discount == D("36.00")
    assert quote([line(1, "4.00", 12)], [case], channel="wholesale").discount == D("12.00")
    assert quote([line(1, "4.00", 11)], [case], channel="wholesale").discount == 0
    assert quote([line(1, "4.00", 24)], [case], channel="retail").discount == 0


def test_volume_tier_on_the_order_and_on_a_category():
    tiers = (Tier(D(5), percent=D(10)),)
    assert quote([line(1, "10.00", 5)], [promo(1, "volume", tiers=tiers)]).discount == D("5.00")
    by_cat = promo(1, "volume", "category", category_ids=frozenset({SNACKS}), tiers=tiers)
    assert quote([line(1, "10.00", 5), line(2, "2.00", 5, category=SNACKS)], [by_cat]).discount == D("1.00")


# --- coupon mechanics ---------------------------------------------------------------------------


def test_free_delivery_takes_the_fee_off_above_the_threshold():
    free = coupon(1, "free_delivery", min_spend=D(20))
    q = quote([line(1, "25.00")], [free], fulfilment="delivery", delivery_fee=D("4.99"))
    assert (q.delivery_discount, q.delivery_fee, q.total) == (D("4.99"), D("0"), D("25.00"))
    assert q.order_discounts[0]["level"] == "delivery"
    q = quote([line(1, "15.00")], [free], fulfilment="delivery", delivery_fee=D("4.99"))
    assert q.delivery_fee == D("4.99") and "minimum spend 20" in status(q, free)["reason"]
    q = quote([line(1, "25.00")], [free], fulfilment="pickup")
    assert status(q, free)["status"] == "not_applicable"


def test_a_gift_never_outweighs_money_off():
    gift = coupon(1, "free_gift", gift_variant_id=99, gift_price=D("20.00"), combines_with=frozenset({"item"}))
    money_off = coupon(2, "amount", amount=D("1.00"), combines_with=frozenset({"item"}))
    q = quote([line(1, "10.00")], [gift, money_off])
    assert q.total == D("9.00") and status(q, gift)["status"] == "lost"
    q = quote([line(1, "10.00")], [gift])
    assert q.total == D("10.00") and status(q, gift)["status"] == "applied"


def test_free_gift_adds_a_zero_total_gift_line():
    gift = coupon(1, "free_gift", gift_variant_id=99, gift_sku="GIFT", gift_name="tote", gift_price=D("6.00"))
    q = quote([line(1, "10.00")], [gift])
    assert [ln.gift for ln in q.lines] == [False, True]
    assert (q.lines[1].line_total, q.lines[1].total) == (D("6.00"), D("0.00"))
    assert (q.subtotal, q.discount, q.total) == (D("16.00"), D("6.00"), D("10.00"))


def test_tiered_spend_applies_the_highest_step_reached():
    tiers = (Tier(D(50), amount=D(5)), Tier(D(100), amount=D(15)), Tier(D(200), amount=D(40)))
    step = coupon(1, "tiered_spend", tiers=tiers)
    assert quote([line(1, "120.00")], [step]).discount == D("15.00")
    assert quote([line(1, "49.99")], [step]).discount == 0


def test_first_order_coupon_only_on_a_first_order():
    first = coupon(1, "percent", percent=D(20), first_order_only=True, type="first_order")
    assert quote([line(1, "10.00")], [first], first_order=True).discount == D("2.00")
    q = quote([line(1, "10.00")], [first], first_order=False)
    assert status(q, first)["reason"] == "first order only"


def test_issued_coupon_only_for_its_customer_and_with_uses_left():
    mine = coupon(1, "amount", amount=D(3), customer_id=7, type="birthday")
    assert quote([line(1, "10.00")], [mine], customer_id=7).discount == D("3.00")
    assert quote([line(1, "10.00")], [mine], customer_id=8).discount == 0
    used = coupon(2, "amount", amount=D(3), customer_uses_left=0)
    assert status(quote([line(1, "10.00")], [used]), used)["reason"].startswith("already used")
    gone = coupon(3, "amount", amount=D(3), uses_left=0)
    assert status(quote([line(1, "10.00")], [gone]), gone)["reason"] == "no uses left"


def test_validity_window_boundaries():
    start = coupon(1, "amount", amount=D(1), starts_at=NOW)
    assert quote([line(1, "10.00")], [start]).discount == D("1.00")  # starts at NOW: valid
    ended = coupon(2, "amount", amount=D(1), ends_at=NOW)
    assert quote([line(1, "10.00")], [ended]).discount == 0  # ends at NOW: no longer valid
    later = coupon(3, "amount", amount=D(1), starts_at=NOW + dt.timedelta(seconds=1))
    assert status(quote([line(1, "10.00")], [later]), later)["reason"].startswith("starts")


def test_loyalty_tier_and_channel_scoping():
    gold = promo(1, "percent", percent=D(10), loyalty_tiers=frozenset({"gold", "diamond"}))
    assert quote([line(1, "10.00")], [gold], tier="gold").discount == D("1.00")
    assert quote([line(1, "10.00")], [gold], tier="silver").discount == 0
    assert quote([line(1, "10.00")], [gold], tier=None).discount == 0
    retail = promo(2, "percent", percent=D(10), channels=frozenset({"retail"}))
    assert quote([line(1, "10.00")], [retail], channel="wholesale").discount == 0


def test_paused_offer_does_not_apply():
    q = quote([line(1, "10.00")], [promo(1, "percent", percent=D(10), is_active=False)])
    assert q.discount == 0 and q.considered[0]["reason"] == "paused"


# --- rules ------------------------------------------------------------------------------------


def test_items_not_discountable_never_count():
    cart = [line(1, "10.00"), line(2, "30.00", discountable=False)]
    q = quote(cart, [promo(1, "percent", percent=D(10)), coupon(2, "amount", amount=D(5), min_spend=D(20))])
    assert q.lines[1].discount == 0
    assert q.discount == D("1.00")  # the 30.00 neither gets 10% nor counts toward the 20.00 minimum


def test_minimum_spend_is_checked_after_item_discounts():
    cart = [line(1, "10.00", 2)]  # 20.00; with 10% off items: 18.00
    item = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(10))
    order = coupon(2, "amount", amount=D("1.00"), min_spend=D(20))
    q = quote(cart, [item, order])
    # both together is not possible (18 < 20): item 2.00 beats order 1.00
    assert q.discount == D("2.00") and "minimum spend 20" in status(q, order)["reason"]
    big = coupon(3, "amount", amount=D("5.00"), min_spend=D(20))
    q = quote(cart, [item, big])  # dropping the item discount keeps the 5.00 coupon
    assert q.discount == D("5.00") and status(q, item)["status"] == "lost"


def test_a_fixed_discount_larger_than_the_eligible_total_stops_at_zero():
    q = quote([line(1, "3.00")], [coupon(1, "amount", amount=D(50))])
    assert (q.discount, q.total) == (D("3.00"), D("0.00"))
    q = quote([line(1, "3.00", 2)], [promo(1, "amount", "product", product_ids=frozenset({1}), amount=D(5))])
    assert (q.discount, q.total) == (D("6.00"), D("0.00"))


def test_zero_price_lines_take_no_discount():
    cart = [line(1, "0.00", 2), line(2, "5.00")]
    q = quote(cart, [promo(1, "percent", percent=D(50)), promo(2, "bxgy", buy_quantity=1, get_quantity=1)])
    assert q.lines[0].discount == 0 and q.total >= 0


def test_one_item_discount_per_unit_the_larger_wins():
    cart = [line(1, "10.00")]
    small = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(10))
    large = promo(2, "amount", "product", product_ids=frozenset({1}), amount=D(3))
    q = quote(cart, [small, large])
    assert q.discount == D("3.00") and len(q.lines[0].discounts) == 1
    assert "one item discount per unit" in status(q, small)["reason"]


def test_different_units_carry_different_item_discounts():
    cart = [line(1, "10.00"), line(2, "10.00", category=SNACKS)]
    a = promo(1, "percent", "category", category_ids=frozenset({SAUCES}), percent=D(10))
    b = promo(2, "percent", "category", category_ids=frozenset({SNACKS}), percent=D(20))
    assert quote(cart, [a, b]).discount == D("3.00")


def test_order_discounts_stack_only_when_both_combine():
    cart = [line(1, "100.00")]
    a = coupon(1, "percent", percent=D(10))
    b = promo(2, "amount", amount=D(5))
    assert quote(cart, [a, b]).discount == D("15.00")  # both allow order discounts: 10 then 5
    lone = promo(2, "amount", amount=D(5), combines_with=frozenset({"item", "delivery"}))
    q = quote(cart, [a, lone])
    assert q.discount == D("10.00") and "does not combine" in status(q, lone)["reason"]


def test_item_and_order_discounts_combine_in_order():
    cart = [line(1, "50.00", 2)]
    item = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(10))  # 10.00
    order = coupon(2, "percent", percent=D(10))  # on 90.00: 9.00
    q = quote(cart, [item, order])
    assert (q.item_discount, q.order_discount, q.total) == (D("10.00"), D("9.00"), D("81.00"))


def test_an_exclusive_offer_applies_alone():
    cart = [line(1, "50.00")]
    item = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(10))
    order = coupon(2, "amount", amount=D(5))
    excl = promo(3, "percent", percent=D(25), exclusive=True)  # 12.50 vs 5.00 + 5.00
    q = quote(cart, [item, order, excl])
    assert q.discount == D("12.50") and [a["offer"] for a in q.applied] == [excl.key]
    weak = promo(3, "percent", percent=D(15), exclusive=True)  # 7.50 < 10.00
    q = quote(cart, [item, order, weak])
    assert q.discount == D("10.00") and status(q, weak)["reason"].startswith("exclusive")


def test_one_delivery_discount():
    a = promo(1, "free_delivery")
    b = coupon(2, "free_delivery", percent=D(50))
    q = quote([line(1, "10.00")], [a, b], fulfilment="delivery", delivery_fee=D("6.00"))
    assert q.delivery_discount == D("6.00") and status(q, b)["status"] == "lost"


def test_caps_limit_an_offer():
    q = quote([line(1, "100.00")], [coupon(1, "percent", percent=D(50), cap=D(20))])
    assert q.discount == D("20.00")
    capped = promo(1, "percent", "product", product_ids=frozenset({1}), percent=D(50), cap=D(15))
    assert quote([line(1, "10.00", 4)], [capped]).discount == D("15.00")


# --- tie-breaks ---------------------------------------------------------------------------------


def test_tie_fewest_single_use_codes_wins():
    cart = [line(1, "10.00")]
    campaign = coupon(1, "amount", amount=D(2), single_use=True, combines_with=frozenset())
    reusable = coupon(2, "amount", amount=D(2), combines_with=frozenset())
    q = quote(cart, [campaign, reusable])
    assert [a["offer"] for a in q.applied] == [reusable.key]


def test_tie_higher_priority_wins():
    cart = [line(1, "10.00")]
    low = promo(1, "amount", amount=D(2), combines_with=frozenset(), priority=1)
    high = promo(2, "amount", amount=D(2), combines_with=frozenset(), priority=5)
    assert [a["offer"] for a in quote(cart, [low, high]).applied] == [high.key]


def test_tie_fewest_offers_wins():
    cart = [line(1, "10.00")]
    one = promo(3, "amount", amount=D(4), combines_with=frozenset())
    a = promo(1, "amount", amount=D(2))
    b = promo(2, "amount", amount=D(2))
    q = quote(cart, [a, b, one])  # a + b also save 4.00
    assert [x["offer"] for x in q.applied] == [one.key]


def test_tie_lowest_id_wins():
    cart = [line(1, "10.00")]
    second = promo(2, "amount", amount=D(2), combines_with=frozenset())
    first = promo(1, "amount", amount=D(2), combines_with=frozenset())
    assert [a["offer"] for a in quote(cart, [second, first]).applied] == [first.key]
    unit_a = promo(4, "percent", "product", product_ids=frozenset({1}), percent=D(20))
    unit_b = promo(3, "amount", "product", product_ids=frozenset({1}), amount=D(2))
    assert quote(cart, [unit_a, unit_b]).lines[0].discounts[0]["offer"] == unit_b.key


def test_the_pricing_is_deterministic_whatever_the_order_of_offers():
    cart = [line(1, "9.99", 3), line(2, "4.49", 2, category=SNACKS)]
    offers = [
        promo(1, "percent", percent=D(7)),
        promo(2, "bxgy", "category", category_ids=frozenset({SNACKS}), buy_quantity=1, get_quantity=1),
        coupon(3, "amount", amount=D(3), min_spend=D(20)),
        promo(4, "amount", "product", product_ids=frozenset({1}), amount=D("0.50")),
    ]
    first = quote(cart, offers)
    second = quote(cart, list(reversed(offers)))
    assert first.applied == second.applied and first.total == second.total


# --- rounding, spreading, tax -------------------------------------------------------------------


def test_order_discount_spreads_by_value_with_the_remainder_on_the_last_line():
    cart = [line(1, "1.00"), line(2, "1.00"), line(3, "1.00")]
    q = quote(cart, [coupon(1, "amount", amount=D("1.00"))])
    assert [ln.discount for ln in q.lines] == [D("0.33"), D("0.33"), D("0.34")]
    assert sum(ln.total for ln in q.lines) == q.subtotal - q.discount


def test_tax_on_the_discounted_amount_exclusive_and_inclusive():
    cart = Cart(lines=(line(1, "100.00"),))
    off = [coupon(1, "percent", percent=D(10))]
    q = price_cart(cart, off, now=NOW, tax_rate=D("0.08"))
    assert (q.tax, q.total) == (D("7.20"), D("97.20"))
    q = price_cart(cart, off, now=NOW, tax_rate=D("0.20"), prices_include_tax=True)
    assert (q.tax, q.total) == (D("15.00"), D("90.00"))


def test_currency_without_decimals_rounds_to_whole_units():
    q = price_cart(Cart(lines=(line(1, "999"),)), [coupon(1, "percent", percent=D(15))], now=NOW, precision=0)
    assert q.discount == D("150")  # 149.85 half-up


def test_every_offer_is_explained():
    cart = [line(1, "10.00")]
    offers = [promo(1, "percent", percent=D(10)), coupon(2, "amount", amount=D(50), min_spend=D(100))]
    q = quote(cart, offers)
    assert {c["offer"]: c["status"] for c in q.considered} == {"promotion:1": "applied", "coupon:2": "lost"}
    assert all(c["reason"] for c in q.considered)
    assert q.applied[0]["reason"] == "10% off the order after item discounts"


# --- properties ---------------------------------------------------------------------------------

money = st.decimals(min_value=D("0"), max_value=D("60"), places=2)
ids = st.integers(min_value=1, max_value=4)


@st.composite
def offers_st(draw, first_id=1):
    kind = draw(
        st.sampled_from(["percent", "amount", "fixed_price", "bxgy", "volume", "free_delivery", "tiered_spend"])
    )
    scope = draw(st.sampled_from(["order", "category", "product"]))
    common = {
        "id": draw(st.integers(min_value=1, max_value=10_000)),
        "source": draw(st.sampled_from(["promotion", "coupon"])),
        "name": "x",
        "kind": kind,
        "scope": scope,
        "category_ids": frozenset({draw(st.sampled_from([SAUCES, SNACKS]))}),
        "product_ids": frozenset(draw(st.lists(ids, max_size=2))),
        "min_spend": draw(st.none() | money),
        "cap": draw(st.none() | money) if scope == "order" else None,
        "priority": draw(st.integers(0, 3)),
        "exclusive": draw(st.booleans()),
        "single_use": draw(st.booleans()),
        "combines_with": frozenset(draw(st.lists(st.sampled_from(["item", "order", "delivery"]), max_size=3))),
    }
    if kind == "percent":
        common["percent"] = draw(st.decimals(min_value=D(0), max_value=D(100), places=2))
    elif kind in {"amount", "free_delivery"}:
        common["amount"] = draw(money)
    elif kind == "fixed_price":
        common["fixed_price"] = draw(money)
    elif kind == "bxgy":
        common.update(buy_quantity=draw(st.integers(1, 3)), get_quantity=draw(st.integers(1, 2)))
    elif kind == "free_gift":
        common.update(gift_variant_id=99, gift_sku="GIFT", gift_price=draw(money))
    else:
        common["tiers"] = tuple(
            Tier(D(draw(st.integers(1, 40))), amount=draw(money)) for _ in range(draw(st.integers(1, 2)))
        )
    return Offer(**common)


@st.composite
def carts_st(draw):
    lines = draw(
        st.lists(
            st.builds(
                lambda v, price, qty, cat, disc: line(v, str(price), qty, category=cat, discountable=disc),
                ids,
                money,
                st.integers(1, 4),
                st.sampled_from([SAUCES, SNACKS]),
                st.booleans(),
            ),
            min_size=1,
            max_size=4,
        )
    )
    fee = draw(st.sampled_from([D("0"), D("4.99")]))
    return Cart(lines=tuple(lines), fulfilment="delivery", delivery_fee=fee)


@settings(max_examples=300, deadline=None)
@given(carts_st(), st.lists(offers_st(), max_size=4))
def test_property_totals_add_up_to_the_lines_and_never_go_negative(cart, offers):
    q = price_cart(cart, offers, now=NOW)
    assert q.subtotal == sum(ln.line_total for ln in q.lines)
    assert q.discount == sum(ln.discount for ln in q.lines)
    assert all(ln.discount >= 0 and ln.total >= 0 for ln in q.lines)
    assert q.total == sum(ln.total for ln in q.lines) + q.tax + q.delivery_fee
    assert q.total >= 0 and q.delivery_fee >= 0
    assert q.item_discount + q.order_discount == q.discount


@settings(max_examples=300, deadline=None)
@given(carts_st(), st.lists(offers_st(), max_size=3), offers_st())
def test_property_adding_an_offer_never_makes_the_chosen_price_worse(cart, offers, extra):
    before = price_cart(cart, offers, now=NOW)
    after = price_cart(cart, [*offers, extra], now=NOW)
    assert after.total <= before.total


SCOPES = {
    "order": {},
    "category": {"category_ids": frozenset({SAUCES})},
    "product": {"product_ids": frozenset({1})},
}
TYPES = {
    "percent": ({"percent": D(10)}, {"order": "2.40", "category": "2.00", "product": "2.00"}),
    "amount": ({"amount": D(1)}, {"order": "1.00", "category": "2.00", "product": "2.00"}),
    "fixed_price": ({"fixed_price": D(7)}, {"order": "0.00", "category": "6.00", "product": "6.00"}),
    "bxgy": ({"buy_quantity": 1, "get_quantity": 1}, {"order": "10.00", "category": "10.00", "product": "10.00"}),
    "volume": ({"tiers": (Tier(D(2), percent=D(10)),)}, {"order": "2.40", "category": "2.00", "product": "2.00"}),
}


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("kind", list(TYPES))
def test_every_promotion_type_in_every_scope(kind, scope):
    # 2 x 10.00 sauce (product 1, Sauces) and 1 x 4.00 snack: the item scopes pick the sauce only
    fields, expected = TYPES[kind]
    if kind == "fixed_price" and scope == "order":
        fields = {"fixed_price": D(20)}  # the whole order for 20.00
        expected = {"order": "4.00"}
    offer = promo(1, kind, scope, **fields, **SCOPES[scope])
    q = quote([line(1, "10.00", 2), line(2, "4.00", 1, category=SNACKS)], [offer])
    assert q.discount == D(expected[scope])
    assert q.applied[0]["level"] == ("item" if scope != "order" or kind == "bxgy" else "order")
