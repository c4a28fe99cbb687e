"""Reads: the pricing function's inputs (a constant number of queries for any cart), usage, lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps as django_apps
from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from apps.catalog.models import Category, Variant
from apps.catalog.selectors import variant_price
from apps.promotions import codes as code_rules
from apps.promotions.models import Coupon, CouponCode, CouponCustomerUse, OfferBase, Promotion, Redemption
from apps.promotions.pricing import Cart, CartLine, Offer, Tier

ZERO = Decimal("0")


@dataclass(frozen=True)
class PricingInputs:
    cart: Cart
    offers: list[Offer]
    invalid_codes: list[str]  # entered codes that are not valid (the answer never says why)
    variants: dict[int, Variant]


def promotion_list() -> QuerySet[Promotion]:
    return Promotion.objects.prefetch_related("categories", "products", "variants")


def coupon_list() -> QuerySet[Coupon]:
    return Coupon.objects.select_related("gift_variant").prefetch_related("categories", "products", "variants")


def promotions_live(*, now: dt.datetime) -> QuerySet[Promotion]:
    return promotion_list().filter(
        Q(starts_at__isnull=True) | Q(starts_at__lte=now),
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        is_active=True,
    )


def customer_tier(user: object | None) -> str | None:
    """The loyalty tier when the loyalty app is installed and knows the customer; else None."""
    if user is None or not getattr(user, "pk", None) or not django_apps.is_installed("apps.loyalty"):
        return None
    try:
        from apps.loyalty import selectors as loyalty
    except ImportError:
        return None
    tier_of = getattr(loyalty, "customer_tier", None)
    return tier_of(user=user) if callable(tier_of) else None


def is_first_order(user: object | None) -> bool:
    from apps.orders.models import Order, OrderStatus

    if user is None or not getattr(user, "pk", None):
        return False
    return not Order.objects.filter(customer=user).exclude(status=OrderStatus.CANCELLED).exists()


def _ancestors() -> dict[int, frozenset[int]]:
    parents = dict(Category.objects.values_list("id", "parent_id"))
    found: dict[int, frozenset[int]] = {}
    for start in parents:
        chain, node = [], start
        while node is not None and node not in chain:
            chain.append(node)
            node = parents.get(node)
        found[start] = frozenset(chain)
    return found


def _tiers(raw: Iterable[dict]) -> tuple[Tier, ...]:
    def num(value: object) -> Decimal | None:
        return None if value in (None, "") else Decimal(str(value))

    return tuple(
        Tier(
            threshold=Decimal(str(step["threshold"])),
            percent=num(step.get("percent")),
            amount=num(step.get("amount")),
            unit_price=num(step.get("unit_price")),
        )
        for step in raw
    )


def _scope_ids(model: type, ids: Sequence[int]) -> dict[int, dict[str, set[int]]]:
    """{offer id: {"categories": {...}, "products": {...}, "variants": {...}}}: three light queries on
    the join tables (no catalog rows built)."""
    found: dict[int, dict[str, set[int]]] = {
        pk: {"categories": set(), "products": set(), "variants": set()} for pk in ids
    }
    if not ids:
        return found
    owner = f"{model._meta.model_name}_id"
    for name, target in (("categories", "category_id"), ("products", "product_id"), ("variants", "variant_id")):
        through = getattr(model, name).through
        for owner_id, target_id in through.objects.filter(**{f"{owner}__in": ids}).values_list(owner, target):
            found[owner_id][name].add(target_id)
    return found


def _common(obj: OfferBase, scopes: dict[str, set[int]] | None = None) -> dict:
    if scopes is None:
        scopes = {
            "categories": {c.pk for c in obj.categories.all()},
            "products": {p.pk for p in obj.products.all()},
            "variants": {v.pk for v in obj.variants.all()},
        }
    return {
        "id": obj.pk,
        "name": obj.name,
        "kind": obj.mechanic,
        "type": obj.kind,
        "scope": obj.scope,
        "category_ids": frozenset(scopes["categories"]),
        "product_ids": frozenset(scopes["products"]),
        "variant_ids": frozenset(scopes["variants"]),
        "percent": obj.percent,
        "amount": obj.amount,
        "fixed_price": obj.fixed_price,
        "buy_quantity": obj.buy_quantity or 0,
        "get_quantity": obj.get_quantity or 0,
        "get_percent": obj.get_percent,
        "tiers": _tiers(obj.tiers or []),
        "min_spend": obj.min_spend,
        "cap": obj.cap,
        "priority": obj.priority,
        "exclusive": obj.exclusive,
        "combines_with": frozenset(obj.combines_with),
        "channels": frozenset(obj.channels),
        "loyalty_tiers": frozenset(obj.loyalty_tiers),
        "starts_at": obj.starts_at,
        "ends_at": obj.ends_at,
        "is_active": obj.is_active,
    }


def promotion_offer(promotion: Promotion, scopes: dict[str, set[int]] | None = None) -> Offer:
    return Offer(source="promotion", **_common(promotion, scopes))


# Active promotions as offers, per tenant schema, with the version they were read at: (count,
# highest id, latest update) of the table. Every write goes through services.offer_save /
# offer_pause / offer_clone, which move `updated_at` (scopes are set in the same call).
_LIVE_CACHE: dict[str, tuple[tuple, list[Offer]]] = {}


_LIVE_VERSION_SQL = f'SELECT COUNT("id"), MAX("id"), MAX("updated_at") FROM "{Promotion._meta.db_table}"'


def promotion_offers_live(*, now: dt.datetime) -> list[Offer]:
    """Every live promotion as an offer. One small query checks the table's version; when it
    changed, one query reads the active rows and three their scopes (as ids)."""
    from django.db import connection

    with connection.cursor() as cursor:  # on every priced cart: the text is fixed, no ORM compile
        cursor.execute(_LIVE_VERSION_SQL)
        version = tuple(cursor.fetchone())
    schema = getattr(connection, "schema_name", "")
    cached = _LIVE_CACHE.get(schema)
    if cached is None or cached[0] != version:
        rows = list(Promotion.objects.filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now), is_active=True))
        scopes = _scope_ids(Promotion, [p.pk for p in rows])
        cached = _LIVE_CACHE[schema] = (version, [promotion_offer(p, scopes[p.pk]) for p in rows])
    return [
        o for o in cached[1] if (o.starts_at is None or o.starts_at <= now) and (o.ends_at is None or o.ends_at > now)
    ]


def coupon_offer(
    code: CouponCode,
    *,
    customer_uses: int = 0,
    precision: int = 2,
    user: object | None = None,
    own_order: bool = False,
) -> Offer:
    """The coupon behind `code` as the pricing function sees it. `own_order`: the order being
    repriced already counted this use (it is given back to it)."""
    coupon = code.coupon
    fields = _common(coupon, getattr(coupon, "scope_ids", None))
    back = 1 if own_order else 0
    starts = max((d for d in (coupon.starts_at, code.valid_from) if d), default=None)
    ends = min((d for d in (coupon.ends_at, code.valid_until) if d), default=None)
    lefts = [
        n
        for n in (
            coupon.usage_limit - coupon.uses + back if coupon.usage_limit is not None else None,
            code.max_uses - code.uses + back if code.max_uses is not None else None,
        )
        if n is not None
    ]
    customer_left = None
    if coupon.per_customer_limit is not None and getattr(user, "pk", None):
        customer_left = coupon.per_customer_limit - customer_uses + back
    gift = coupon.gift_variant
    blocked = ""
    if gift is not None and gift.is_archived:
        blocked = "the gift is no longer available"
    if coupon.kind == Coupon.Kind.REFERRAL and code.customer_id is None:
        blocked = "a referral code is issued to one customer"
    fields.update(
        starts_at=starts,
        ends_at=ends,
        code=code.code,
        code_id=code.pk,
        single_use=coupon.single_use_codes or code.max_uses == 1,
        first_order_only=coupon.kind in {Coupon.Kind.FIRST_ORDER}
        or (coupon.kind == Coupon.Kind.REFERRAL and coupon.referral_role == Coupon.ReferralRole.FRIEND),
        customer_id=code.customer_id,
        uses_left=min(lefts) if lefts else None,
        customer_uses_left=customer_left,
        gift_variant_id=gift.pk if gift is not None and not gift.is_archived else None,
        gift_sku=gift.sku if gift is not None else "",
        gift_name=str(gift) if gift is not None else "",
        gift_price=variant_price(variant=gift, user=user, precision=precision) if gift is not None else ZERO,
        blocked=blocked,
    )
    return Offer(source="coupon", **fields)


def coupon_codes_find(codes: Sequence[str]) -> dict[str, CouponCode]:
    wanted = {code_rules.normalise(c) for c in codes if code_rules.normalise(c)}
    if not wanted:
        return {}
    found = list(CouponCode.objects.select_related("coupon", "coupon__gift_variant").filter(code__in=wanted))
    scopes = _scope_ids(Coupon, list({c.coupon_id for c in found}))
    for code in found:
        code.coupon.scope_ids = scopes[code.coupon_id]
    return {c.code: c for c in found}


def pricing_inputs(
    *,
    lines: Sequence[tuple[Variant, int]],
    customer: object | None,
    channel: str,
    fulfilment: str,
    delivery_fee: Decimal,
    codes: Sequence[str],
    now: dt.datetime,
    precision: int = 2,
    caller: str | None = None,
    redeemed_by_order: Iterable[int] = (),
) -> PricingInputs:
    """Everything `price_cart` needs, in a constant number of queries: variants with products (1),
    live promotions with their scopes (1 version check; 4 more when they changed), the entered codes
    with their coupons (4), the customer's uses of those coupons (1), and only when a live offer
    depends on them: categories (1), whether it is the customer's first order (1), the loyalty tier
    (the loyalty app's selector). Scopes are read from the join tables as ids.
    Wholesale prices come from the catalog's `variant_price` (one query per line for a buyer with a
    price list)."""
    user = customer if getattr(customer, "pk", None) else None
    if all(Variant.product.is_cached(v) for v, _ in lines):  # the caller read them with their products
        variants = {v.pk: v for v, _ in lines}
    else:
        variants = Variant.objects.select_related("product").in_bulk([v.pk for v, _ in lines])
    offers = promotion_offers_live(now=now)
    normalised = [code_rules.normalise(c) for c in codes]
    normalised = list(dict.fromkeys(c for c in normalised if c))
    invalid: list[str] = []
    if normalised:
        code_rules.attempts_check(caller)
        found = coupon_codes_find(normalised)
        uses = {}
        if user is not None and found:
            uses = dict(
                CouponCustomerUse.objects.filter(
                    customer=user, coupon_id__in={c.coupon_id for c in found.values()}
                ).values_list("coupon_id", "uses")
            )
        own = set(redeemed_by_order)
        for entered in normalised:
            code = found.get(entered)
            if code is None or (code.customer_id is not None and code.customer_id != getattr(user, "pk", None)):
                invalid.append(entered)
                code_rules.attempt_failed(caller)
                continue
            offers.append(
                coupon_offer(
                    code,
                    customer_uses=uses.get(code.coupon_id, 0),
                    precision=precision,
                    user=customer,
                    own_order=code.coupon_id in own,
                )
            )
    # What only some offers look at is read only when a live offer looks at it: the category tree
    # (category-scoped offers), the loyalty tier (tier-only offers), the first-order check.
    ancestors = _ancestors() if any(offer.category_ids for offer in offers) else {}
    cart_lines = []
    for variant, quantity in lines:
        loaded = variants.get(variant.pk, variant)
        product = loaded.product
        attributes = product.attributes if isinstance(product.attributes, dict) else {}
        cart_lines.append(
            CartLine(
                variant_id=loaded.pk,
                product_id=product.pk,
                quantity=quantity,
                unit_price=variant_price(variant=loaded, user=customer, quantity=quantity, precision=precision),
                sku=loaded.sku,
                name=str(loaded),
                category_ids=ancestors.get(product.category_id, frozenset()),
                discountable=attributes.get("discountable", True) is not False,
            )
        )
    tier = customer_tier(user) if any(offer.loyalty_tiers for offer in offers) else None
    cart = Cart(
        lines=tuple(cart_lines),
        channel="wholesale" if channel == "wholesale" else "retail",
        customer_id=getattr(user, "pk", None),
        tier=tier,
        first_order=is_first_order(user) if user is not None and any(o.first_order_only for o in offers) else False,
        fulfilment=fulfilment,
        delivery_fee=delivery_fee,
        codes=tuple(normalised),
    )
    return PricingInputs(cart=cart, offers=offers, invalid_codes=invalid, variants=variants)


def coupon_usage(*, coupon: Coupon) -> dict:
    redemptions = Redemption.objects.filter(coupon=coupon)
    live = redemptions.filter(released_at__isnull=True)
    totals = live.aggregate(n=Count("id"), amount=Sum("amount"))
    return {
        "coupon": coupon.pk,
        "uses": coupon.uses,
        "usage_limit": coupon.usage_limit,
        "redemptions": totals["n"] or 0,
        "released": redemptions.filter(released_at__isnull=False).count(),
        "discount_given": totals["amount"] or ZERO,
        "codes": coupon.codes.count(),
        "codes_used": coupon.codes.filter(uses__gt=0).count(),
        "customers": live.exclude(customer=None).values("customer").distinct().count(),
    }


def redemption_list(*, coupon: Coupon) -> QuerySet[Redemption]:
    return (
        Redemption.objects.filter(coupon=coupon)
        .select_related("code", "order")
        .prefetch_related(Prefetch("coupon", queryset=Coupon.objects.only("id", "name")))
    )
