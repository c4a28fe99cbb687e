"""The one pricing function: a cart and the offers that might apply in, the priced cart with its
explanation out. Pure: no queries, no clock, no settings (everything comes in as arguments), so
the quote, order placement, the admin preview and the benchmark all price the same way.

Levels. Every offer discounts one level:
* item (category / product / variant scope, and every buy-X-get-Y): at most one item discount per
  unit; different units may carry different item discounts;
* order (order-scope percent / amount / fixed price / volume, tiered spend, free gift): one per
  order unless every one of them combines with order discounts;
* delivery (free delivery): one.

Order of application: item discounts on the base prices, then order discounts on the subtotal
after item discounts (minimum spends are checked there; stacked order discounts take percentages
first, then amounts), then delivery.

Which offers go together ("combines with", as in Shopify's discount classes): two offers may be
applied together only when each lists the other's level in `combines_with`; an exclusive offer is
always alone. The chosen combination is the one with the largest saving off the price, then the
largest free-gift value (a gift never outweighs money off: the price paid only goes down), then
the fewest single-use codes spent, then the highest priority, then the fewest offers, then the
lowest ids.

Search. The saving of a combination is nondecreasing in its item discount except across minimum
spends and spend tiers, so for each choice of order and delivery offers the full item set (every
compatible item offer, each unit taking its best one, each subset of buy-X-get-Y offers tried) is
the answer unless it breaks a threshold or hits an item cap; then, with at most EXHAUSTIVE_ITEMS
competing item offers, every subset is tried (exact), beyond that item offers are dropped
smallest first until the threshold holds (documented approximation). Order offer sets are
enumerated exactly up to EXHAUSTIVE_ORDERS offers, beyond that singles and the full combinable set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from itertools import combinations

ZERO = Decimal("0")
HUNDRED = Decimal("100")
ITEM, ORDER, DELIVERY = "item", "order", "delivery"
LEVELS = frozenset({ITEM, ORDER, DELIVERY})
EXHAUSTIVE_ITEMS = 8
EXHAUSTIVE_ORDERS = 6
EXHAUSTIVE_BXGY = 4

# Mechanics (Offer.kind). Coupon types map onto them (first order, birthday, referral and win-back
# coupons give a percent or an amount; the loader sets `type` to the coupon type for display).
PER_UNIT = frozenset({"percent", "amount", "fixed_price", "volume"})
KINDS = PER_UNIT | {"bxgy", "free_delivery", "free_gift", "tiered_spend"}


@dataclass(frozen=True)
class Tier:
    """One step. Volume: from `threshold` eligible units, `unit_price` (a case price), `percent`
    off or `amount` off each unit (order scope: off the order). Tiered spend: from `threshold`
    spent, `percent` or `amount` off the order."""

    threshold: Decimal
    percent: Decimal | None = None
    amount: Decimal | None = None
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class Offer:
    id: int
    source: str  # "promotion" | "coupon"
    name: str
    kind: str
    scope: str = "order"  # order | category | product (products and variants)
    type: str = ""  # the promotion or coupon type as staff chose it (display)
    category_ids: frozenset[int] = frozenset()
    product_ids: frozenset[int] = frozenset()
    variant_ids: frozenset[int] = frozenset()
    percent: Decimal | None = None
    amount: Decimal | None = None
    fixed_price: Decimal | None = None
    buy_quantity: int = 0
    get_quantity: int = 0
    get_percent: Decimal = HUNDRED
    tiers: tuple[Tier, ...] = ()
    gift_variant_id: int | None = None
    gift_sku: str = ""
    gift_name: str = ""
    gift_price: Decimal = ZERO
    min_spend: Decimal | None = None
    cap: Decimal | None = None
    priority: int = 0
    exclusive: bool = False
    combines_with: frozenset[str] = LEVELS
    channels: frozenset[str] = frozenset({"retail", "wholesale"})
    loyalty_tiers: frozenset[str] = frozenset()  # empty: everyone
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    is_active: bool = True
    code: str = ""
    code_id: int | None = None
    single_use: bool = False
    first_order_only: bool = False
    customer_id: int | None = None  # issued to this customer only
    uses_left: int | None = None  # None: unlimited
    customer_uses_left: int | None = None
    blocked: str = ""  # a reason the loader found (e.g. outside the code's own window)

    @cached_property
    def key(self) -> str:
        return f"{self.source}:{self.id}"

    @cached_property
    def signature(self) -> tuple:
        """What compatibility depends on."""
        return (self.level, self.combines_with, self.exclusive)

    @cached_property
    def level(self) -> str:
        if self.kind == "free_delivery":
            return DELIVERY
        if self.kind in {"free_gift", "tiered_spend"}:
            return ORDER
        if self.kind == "bxgy":
            return ITEM
        return ORDER if self.scope == "order" else ITEM

    def covers(self, line: CartLine) -> bool:
        if not line.discountable:
            return False
        if self.scope == "order":
            return True
        if self.scope == "category":
            return bool(self.category_ids & line.category_ids)
        return line.variant_id in self.variant_ids or line.product_id in self.product_ids

    def rank(self) -> tuple:
        """Per-unit tie-break between two offers saving the same: fewer single-use codes, higher
        priority, lower id."""
        return self._rank

    @cached_property
    def _rank(self) -> tuple:
        return (self.single_use, -self.priority, self.id, self.source)


@dataclass(frozen=True)
class CartLine:
    variant_id: int
    product_id: int
    quantity: int
    unit_price: Decimal  # the caller's base price (retail, or the wholesale price list)
    sku: str = ""
    name: str = ""
    category_ids: frozenset[int] = frozenset()  # the product's category and its ancestors
    discountable: bool = True


@dataclass(frozen=True)
class Cart:
    lines: tuple[CartLine, ...]
    channel: str = "retail"  # retail | wholesale
    customer_id: int | None = None
    tier: str | None = None  # loyalty tier, when the loyalty app knows it
    first_order: bool = False
    fulfilment: str = "pickup"
    delivery_fee: Decimal = ZERO
    codes: tuple[str, ...] = ()


@dataclass
class LinePrice:
    variant_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    discount: Decimal = ZERO
    discounts: list[dict] = field(default_factory=list)
    gift: bool = False

    @property
    def total(self) -> Decimal:
        return self.line_total - self.discount


@dataclass
class Quote:
    lines: list[LinePrice]
    subtotal: Decimal
    item_discount: Decimal
    order_discount: Decimal
    discount: Decimal  # item + order (what the lines carry)
    delivery_fee: Decimal  # after its discount
    delivery_discount: Decimal
    tax: Decimal
    total: Decimal
    applied: list[dict]  # every offer applied: offer, name, code, level, amount, reason
    considered: list[dict]  # every offer looked at: offer, name, code, status, reason
    order_discounts: list[dict]  # the order and delivery offers applied (Order.discounts)

    @property
    def saving(self) -> Decimal:
        return self.discount + self.delivery_discount


# --- helpers ---------------------------------------------------------------------------------


def _q(precision: int) -> Decimal:
    return Decimal(1).scaleb(-precision)


def _fmt(value: Decimal) -> str:
    return f"{value:f}"


def _pct(value: Decimal | None) -> str:
    return f"{(value or ZERO).normalize():f}%"


def _best_tier(tiers: Iterable[Tier], reached: Decimal) -> Tier | None:
    best = None
    for tier in tiers:
        if tier.threshold <= reached and (best is None or tier.threshold > best.threshold):
            best = tier
    return best


@dataclass
class _ItemResult:
    saving: Decimal
    # per line: list of (offer, amount, units)
    per_line: list[list[tuple[Offer, Decimal, int]]]
    offers: tuple[Offer, ...]  # those that saved something
    capped: bool
    after: list[Decimal] = field(default_factory=list)  # each line's total after these discounts


@dataclass
class _Evaluated:
    saving: Decimal
    offers: tuple[Offer, ...]
    items: _ItemResult
    order: list[tuple[Offer, Decimal, list[Decimal]]]  # offer, amount, per-line share
    delivery: tuple[Offer, Decimal] | None
    gifts: list[Offer]
    failed: dict[str, str]

    @property
    def gift_value(self) -> Decimal:
        return sum((g.gift_price for g in self.gifts), ZERO)

    def key(self) -> tuple:
        return (
            -self.saving,
            -self.gift_value,
            sum(1 for o in self.offers if o.single_use),
            -max((o.priority for o in self.offers), default=0),
            len(self.offers),
            tuple(sorted((o.id, o.source) for o in self.offers)),
        )


class _Pricer:
    def __init__(self, cart: Cart, precision: int) -> None:
        self.cart = cart
        self.q = _q(precision)
        self.lines = cart.lines
        self.totals = [self.money(line.unit_price * line.quantity) for line in cart.lines]
        self.subtotal = sum(self.totals, ZERO)
        self._item_cache: dict[frozenset[str], _ItemResult] = {}
        self._eval_cache: dict[tuple, _Evaluated] = {}
        self._goods: dict[int, Decimal] = {}
        self._alone: dict[str, Decimal] = {}
        self._set_keys: dict[int, tuple[Sequence[Offer], frozenset[str]]] = {}
        self._unit_savings: dict[str, dict[int, Decimal]] = {}
        self._by_price: dict[str, list[int]] = {}
        self._discountable = [i for i, line in enumerate(cart.lines) if line.discountable]
        self._by_variant: dict[int, list[int]] = {}
        self._by_product: dict[int, list[int]] = {}
        self._by_category: dict[int, list[int]] = {}
        for i in self._discountable:
            line = cart.lines[i]
            self._by_variant.setdefault(line.variant_id, []).append(i)
            self._by_product.setdefault(line.product_id, []).append(i)
            for category in line.category_ids:
                self._by_category.setdefault(category, []).append(i)
        self._idx: dict[str, list[int]] = {}
        self._qty: dict[str, int] = {}
        # per line: the per-unit offers that save something on it, best first (saving, then rank)
        self.options: list[list[tuple[Offer, Decimal]]] = [[] for _ in cart.lines]

    def money(self, value: Decimal) -> Decimal:
        return value.quantize(self.q, rounding=ROUND_HALF_UP)

    def prepare(self, live: Sequence[Offer]) -> None:
        """Per-unit savings of every live item offer on every line it covers, computed once."""
        found: list[list[tuple[tuple, Offer, Decimal]]] = [[] for _ in self.lines]
        for offer in live:
            if offer.kind in PER_UNIT and offer.level == ITEM:
                qty = self.eligible_qty(offer)
                mine = self._unit_savings[offer.key] = {}
                for i in self.idx(offer):
                    saving = self.unit_saving(offer, self.lines[i], qty)
                    if saving > 0:
                        found[i].append(((-saving, offer.rank()), offer, saving))
                        mine[i] = saving
        for i, entries in enumerate(found):
            entries.sort(key=lambda e: e[0])
            self.options[i] = [(offer, saving) for _, offer, saving in entries]

    # eligibility (independent of other offers)
    def idx(self, offer: Offer) -> list[int]:
        """The discountable lines an offer covers, in cart order (looked up by variant, product and
        category rather than testing every line)."""
        found = self._idx.get(offer.key)
        if found is None:
            if offer.scope == "order":
                found = self._discountable
            else:
                hits: set[int] = set()
                ids = (
                    (self._by_category, offer.category_ids)
                    if offer.scope == "category"
                    else (self._by_variant, offer.variant_ids)
                )
                for key in ids[1]:
                    hits.update(ids[0].get(key, ()))
                if offer.scope != "category":
                    for key in offer.product_ids:
                        hits.update(self._by_product.get(key, ()))
                found = sorted(hits)
            self._idx[offer.key] = found
        return found

    def by_price(self, offer: Offer) -> list[int]:
        """The lines an offer covers, dearest first (then in cart order)."""
        found = self._by_price.get(offer.key)
        if found is None:
            found = self._by_price[offer.key] = sorted(self.idx(offer), key=lambda i: (-self.lines[i].unit_price, i))
        return found

    def eligible_qty(self, offer: Offer) -> int:
        found = self._qty.get(offer.key)
        if found is None:
            found = self._qty[offer.key] = sum(self.lines[i].quantity for i in self.idx(offer))
        return found

    def why_not(self, offer: Offer, now: dt.datetime) -> str:
        cart = self.cart
        if offer.kind not in KINDS:
            return "unknown offer type"
        if not offer.is_active:
            return "paused"
        if offer.starts_at is not None and now < offer.starts_at:
            return f"starts {offer.starts_at.isoformat()}"
        if offer.ends_at is not None and now >= offer.ends_at:
            return f"ended {offer.ends_at.isoformat()}"
        if offer.blocked:
            return offer.blocked
        if cart.channel not in offer.channels:
            return f"not offered on the {cart.channel} channel"
        if offer.loyalty_tiers and cart.tier not in offer.loyalty_tiers:
            return f"for {', '.join(sorted(offer.loyalty_tiers))} members only"
        if offer.customer_id is not None and offer.customer_id != cart.customer_id:
            return "issued to another customer"
        if offer.first_order_only and not cart.first_order:
            return "first order only"
        if offer.uses_left is not None and offer.uses_left <= 0:
            return "no uses left"
        if offer.customer_uses_left is not None and offer.customer_uses_left <= 0:
            return "already used the allowed number of times"
        if offer.level == DELIVERY:
            if cart.fulfilment not in {"delivery", "shipping"} or cart.delivery_fee <= 0:
                return "no delivery fee to take off"
            return ""
        qty = self.eligible_qty(offer)
        if qty == 0:
            return "nothing in the cart it applies to (or only items that are not discountable)"
        if offer.kind == "bxgy":
            if offer.buy_quantity < 1 or offer.get_quantity < 1:
                return "buy and get quantities are not set"
            if qty < offer.buy_quantity + offer.get_quantity:
                return f"needs {offer.buy_quantity + offer.get_quantity} eligible units, the cart has {qty}"
        if offer.kind == "volume" and _best_tier(offer.tiers, Decimal(qty)) is None:
            first = min((t.threshold for t in offer.tiers), default=None)
            return f"needs {first} eligible units, the cart has {qty}" if first is not None else "no tiers"
        if offer.kind == "free_gift" and offer.gift_variant_id is None:
            return "the gift is not available"
        return ""

    # item level
    def unit_saving(self, offer: Offer, line: CartLine, eligible_qty: int) -> Decimal:
        price = line.unit_price
        if offer.kind == "percent":
            return price * min(offer.percent or ZERO, HUNDRED) / HUNDRED
        if offer.kind == "amount":
            return min(offer.amount or ZERO, price)
        if offer.kind == "fixed_price":
            return max(price - (offer.fixed_price if offer.fixed_price is not None else price), ZERO)
        if offer.kind == "volume":
            tier = _best_tier(offer.tiers, Decimal(eligible_qty))
            if tier is None:
                return ZERO
            if tier.unit_price is not None:
                return max(price - tier.unit_price, ZERO)
            if tier.percent is not None:
                return price * min(tier.percent, HUNDRED) / HUNDRED
            return min(tier.amount or ZERO, price)
        return ZERO

    def _set_key(self, offers: Sequence[Offer]) -> frozenset[str]:
        """The set of keys of a sequence the search passes again and again (memoised by identity;
        the sequence is kept alive with it)."""
        memo = self._set_keys.get(id(offers))
        if memo is None or memo[0] is not offers:
            memo = self._set_keys[id(offers)] = (offers, frozenset(o.key for o in offers))
        return memo[1]

    def items(self, offers: Sequence[Offer]) -> _ItemResult:
        cache_key = self._set_key(offers)
        cached = self._item_cache.get(cache_key)
        if cached is not None:
            return cached
        bxgys = sorted((o for o in offers if o.kind == "bxgy"), key=Offer.rank)
        units = [o for o in offers if o.kind in PER_UNIT]
        best: _ItemResult | None = None
        subsets: list[tuple[Offer, ...]]
        if len(bxgys) <= EXHAUSTIVE_BXGY:
            subsets = [c for n in range(len(bxgys) + 1) for c in combinations(bxgys, n)]
        else:  # every subset of the EXHAUSTIVE_BXGY - 1 saving most alone, and all of them
            alone = {b.key: self._bxgy_alone(b) for b in bxgys}
            top = sorted(bxgys, key=lambda b: (-alone[b.key], b.rank()))[: EXHAUSTIVE_BXGY - 1]
            subsets = [tuple(bxgys)] + [c for n in range(len(top) + 1) for c in combinations(top, n)]
        for subset in subsets:
            result = self._items_with(subset, units)
            if best is None or result.saving > best.saving:
                best = result
        assert best is not None
        self._item_cache[cache_key] = best
        return best

    def _bxgy_alone(self, offer: Offer) -> Decimal:
        found = self._alone.get(offer.key)
        if found is None:
            found = self._alone[offer.key] = self._items_with((offer,), ()).saving
        return found

    def _items_with(self, bxgys: Sequence[Offer], units: Sequence[Offer]) -> _ItemResult:
        per_line: list[list[tuple[Offer, Decimal, int]]] = [[] for _ in self.lines]
        free = [line.quantity for line in self.lines]
        totals: dict[str, Decimal] = {}
        capped = False
        for offer in bxgys:
            pool = [(self.lines[i].unit_price, i) for i in self.by_price(offer) for _ in range(free[i])]
            group = offer.buy_quantity + offer.get_quantity
            if len(pool) < group:
                continue
            pool = pool[: len(pool) // group * group]
            saving_units: dict[int, tuple[Decimal, int]] = {}
            for start in range(0, len(pool), group):
                chunk = pool[start : start + group]
                for _price, i in chunk:
                    free[i] -= 1
                for price, i in chunk[offer.buy_quantity :]:  # the cheapest of each group
                    amount, count = saving_units.get(i, (ZERO, 0))
                    saving_units[i] = (amount + price * min(offer.get_percent, HUNDRED) / HUNDRED, count + 1)
            for i, (amount, count) in sorted(saving_units.items()):
                per_line[i].append((offer, self.money(amount), count))
        if len(units) <= 8:  # few offers: visit only their lines
            chosen: dict[int, tuple[tuple, Offer, Decimal]] = {}
            for offer in units:
                for i, saving in self._unit_savings.get(offer.key, {}).items():
                    rank = (-saving, offer.rank())
                    if free[i] > 0 and (i not in chosen or rank < chosen[i][0]):
                        chosen[i] = (rank, offer, saving)
            for i in sorted(chosen):
                _, offer, saving = chosen[i]
                per_line[i].append((offer, self.money(saving * free[i]), free[i]))
        else:
            allowed_keys = self._set_key(units)
            for i in range(len(self.lines)):
                if free[i] <= 0:
                    continue
                for offer, saving in self.options[i]:  # best first
                    if offer.key in allowed_keys:
                        per_line[i].append((offer, self.money(saving * free[i]), free[i]))
                        break
        # caps, applied in line order
        for entries in per_line:
            for n, (offer, amount, count) in enumerate(entries):
                if offer.cap is not None:
                    used = totals.get(offer.key, ZERO)
                    allowed = max(min(amount, offer.cap - used), ZERO)
                    if allowed < amount:
                        capped = True
                        entries[n] = (offer, allowed, count)
                        amount = allowed
                totals[offer.key] = totals.get(offer.key, ZERO) + amount
        for i in range(len(per_line)):
            per_line[i] = [e for e in per_line[i] if e[1] > 0]
        used = {o.key for entries in per_line for (o, _, _) in entries}
        saving = sum((a for entries in per_line for (_, a, _) in entries), ZERO)
        ordered = tuple(sorted((o for o in {*bxgys, *units} if o.key in used), key=lambda o: (o.id, o.source)))
        return _ItemResult(saving=saving, per_line=per_line, offers=ordered, capped=capped)

    # order and delivery levels
    def after_items(self, items: _ItemResult) -> list[Decimal]:
        if not items.after:
            items.after = [
                self.totals[i] - sum((a for (_, a, _) in items.per_line[i]), ZERO) for i in range(len(self.lines))
            ]
        return items.after

    def goods_after(self, items: _ItemResult) -> Decimal:
        found = self._goods.get(id(items))
        if found is None:
            after = self.after_items(items)
            found = self._goods[id(items)] = sum(
                (after[i] for i, line in enumerate(self.lines) if line.discountable), ZERO
            )
        return found

    def order_saving(self, offer: Offer, base: Decimal, eligible_qty: int) -> Decimal:
        if offer.kind == "percent":
            saving = base * min(offer.percent or ZERO, HUNDRED) / HUNDRED
        elif offer.kind == "amount":
            saving = offer.amount or ZERO
        elif offer.kind == "fixed_price":
            saving = base - (offer.fixed_price if offer.fixed_price is not None else base)
        elif offer.kind == "volume":
            return self._tier_amount(offer, _best_tier(offer.tiers, Decimal(eligible_qty)), base)
        else:
            return ZERO
        if offer.cap is not None:
            saving = min(saving, offer.cap)
        return max(min(self.money(saving), base), ZERO)

    def evaluate(
        self,
        item_offers: Sequence[Offer],
        order_offers: Sequence[Offer],
        delivery: Offer | None,
        *,
        spread: bool = False,
    ) -> _Evaluated:
        """The combination's saving. Order discounts are spread over lines only where a later
        stacked order discount needs what is left (or `spread`: the chosen combination)."""
        cache_key = (
            self._set_key(item_offers),
            tuple(o.key for o in order_offers),
            delivery.key if delivery else None,
        )
        if not spread and cache_key in self._eval_cache:
            return self._eval_cache[cache_key]
        result = self._evaluate(item_offers, order_offers, delivery, spread=spread)
        if not spread:
            self._eval_cache[cache_key] = result
        return result

    def _evaluate(
        self, item_offers: Sequence[Offer], order_offers: Sequence[Offer], delivery: Offer | None, *, spread: bool
    ) -> _Evaluated:
        items = self.items(item_offers)
        after = self.after_items(items)
        remaining = list(after)
        failed: dict[str, str] = {}
        order_applied: list[tuple[Offer, Decimal, list[Decimal]]] = []
        gifts: list[Offer] = []
        goods_after_items = self.goods_after(items)
        stacked = sorted(order_offers, key=_stack_order)
        touched = False  # has an earlier order discount been spread over the lines yet?
        for n, offer in enumerate(stacked):
            idx = self.idx(offer)
            base_after_items = goods_after_items if offer.scope == "order" else sum((after[i] for i in idx), ZERO)
            spent = sum((remaining[i] for i in idx), ZERO) if touched else base_after_items
            if offer.min_spend is not None and base_after_items < offer.min_spend:
                failed[offer.key] = (
                    f"minimum spend {_fmt(offer.min_spend)} not reached after item discounts "
                    f"({_fmt(base_after_items)})"
                )
                continue
            if offer.kind == "free_gift":
                gifts.append(offer)
                continue
            if offer.kind == "tiered_spend":
                tier = _best_tier(offer.tiers, base_after_items)
                if tier is None:
                    first = min((t.threshold for t in offer.tiers), default=ZERO)
                    failed[offer.key] = f"first step at {_fmt(first)} not reached ({_fmt(base_after_items)})"
                    continue
                amount = self._tier_amount(offer, tier, spent)
            else:
                amount = self.order_saving(offer, spent, sum(self.lines[i].quantity for i in idx))
            if amount <= 0:
                continue
            shares: list[Decimal] = []
            if spread or n < len(stacked) - 1:
                shares = self._spread(amount, idx, remaining)
                for i, share in zip(idx, shares, strict=True):
                    remaining[i] -= share
                touched = True
            order_applied.append((offer, amount, shares))
        delivery_applied = None
        if delivery is not None:
            if delivery.min_spend is not None and goods_after_items < delivery.min_spend:
                failed[delivery.key] = (
                    f"minimum spend {_fmt(delivery.min_spend)} not reached after item discounts "
                    f"({_fmt(goods_after_items)})"
                )
            else:
                fee = self.cart.delivery_fee
                amount = fee * min(delivery.percent, HUNDRED) / HUNDRED if delivery.percent is not None else fee
                if delivery.cap is not None:
                    amount = min(amount, delivery.cap)
                amount = min(self.money(amount), fee)
                if amount > 0:
                    delivery_applied = (delivery, amount)
        saving = (
            items.saving
            + sum((a for (_, a, _) in order_applied), ZERO)
            + (delivery_applied[1] if delivery_applied else ZERO)
        )
        offers = (
            *items.offers,
            *(o for (o, _, _) in order_applied),
            *gifts,
            *((delivery_applied[0],) if delivery_applied else ()),
        )
        return _Evaluated(saving, tuple(offers), items, order_applied, delivery_applied, gifts, failed)

    def _tier_amount(self, offer: Offer, tier: Tier | None, base: Decimal) -> Decimal:
        if tier is None:
            return ZERO
        saving = base * min(tier.percent, HUNDRED) / HUNDRED if tier.percent is not None else tier.amount or ZERO
        if offer.cap is not None:
            saving = min(saving, offer.cap)
        return max(min(self.money(saving), base), ZERO)

    def _spread(self, amount: Decimal, idx: list[int], remaining: list[Decimal]) -> list[Decimal]:
        """By value, rounded per line, the remainder on the last line with value left."""
        base = sum((remaining[i] for i in idx), ZERO)
        if base <= 0:
            return [ZERO for _ in idx]
        shares, given = [], ZERO
        last = max((n for n, i in enumerate(idx) if remaining[i] > 0), default=len(idx) - 1)
        for n, i in enumerate(idx):
            if n == last:
                shares.append(amount - given)
                continue
            share = min(self.money(amount * remaining[i] / base), remaining[i])
            shares.append(share)
            given += share
        # the remainder never pushes the last line below zero
        overflow = shares[last] - remaining[idx[last]]
        if overflow > 0:
            shares[last] -= overflow
            for n, i in enumerate(idx):
                if overflow <= 0:
                    break
                room = remaining[i] - shares[n]
                take = min(room, overflow)
                if take > 0:
                    shares[n] += take
                    overflow -= take
        return shares


def _stack_order(offer: Offer) -> tuple:
    """Stacked order discounts: percentages first (on the larger base: the customer's best), then
    amounts, fixed prices and steps, each group in rank order."""
    return (offer.kind != "percent", *offer.rank())


def _compatible(a: Offer, b: Offer) -> bool:
    if a.exclusive or b.exclusive:
        return False
    if a.level == b.level == DELIVERY:
        return False
    return b.level in a.combines_with and a.level in b.combines_with


def _all_compatible(offers: Sequence[Offer]) -> bool:
    return all(_compatible(a, b) for a, b in combinations(offers, 2))


def price_cart(
    cart: Cart,
    offers: Sequence[Offer],
    *,
    now: dt.datetime,
    precision: int = 2,
    tax_rate: Decimal = ZERO,
    prices_include_tax: bool = False,
) -> Quote:
    """Price `cart` with the best combination of `offers` (see the module docstring)."""
    pricer = _Pricer(cart, precision)
    considered: dict[str, dict] = {}
    live: list[Offer] = []
    seen: set[str] = set()
    for offer in sorted(offers, key=lambda o: (o.id, o.source)):
        if offer.key in seen:
            continue
        seen.add(offer.key)
        reason = pricer.why_not(offer, now)
        considered[offer.key] = _entry(offer, "not_applicable" if reason else "lost", reason)
        if not reason:
            live.append(offer)

    pricer.prepare(live)
    best = _search(pricer, live)
    best = pricer.evaluate(
        best.items.offers, [o for (o, _, _) in best.order] + best.gifts, _delivery(best), spread=True
    )
    applied_keys = {o.key for o in best.offers}
    quote = _quote(pricer, best, cart, precision, tax_rate, prices_include_tax)
    for offer in live:
        entry = considered[offer.key]
        if offer.key in applied_keys:
            entry["status"] = "applied"
            entry["reason"] = next(a["reason"] for a in quote.applied if a["offer"] == offer.key)
        else:
            entry["reason"] = _why_lost(pricer, offer, best, live)
    quote.considered = list(considered.values())
    return quote


def _entry(offer: Offer, status: str, reason: str) -> dict:
    return {
        "offer": offer.key,
        "name": offer.name,
        "type": offer.type or offer.kind,
        "code": offer.code,
        "level": offer.level,
        "status": status,
        "reason": reason,
    }


def _search(pricer: _Pricer, live: list[Offer]) -> _Evaluated:
    empty = pricer.evaluate((), (), None)
    best = empty

    best_key = best.key()

    def consider(candidate: _Evaluated) -> None:
        nonlocal best, best_key
        if candidate.saving < best.saving:
            return
        key = candidate.key()
        if key < best_key:
            best, best_key = candidate, key

    for offer in live:
        if offer.exclusive:
            consider(pricer.evaluate(*_alone(offer)))
    shared = [o for o in live if not o.exclusive]
    items = [o for o in shared if o.level == ITEM]
    orders = [o for o in shared if o.level == ORDER]
    deliveries = _undominated(pricer, [o for o in shared if o.level == DELIVERY])

    pools: dict[frozenset, list[Offer]] = {}
    order_sets: list[tuple[Offer, ...]] = [()]
    if len(orders) <= EXHAUSTIVE_ORDERS:
        order_sets += [c for n in range(1, len(orders) + 1) for c in combinations(orders, n) if _all_compatible(c)]
    else:
        order_sets += [(o,) for o in orders]
        stack = tuple(o for o in orders if ORDER in o.combines_with)
        if len(stack) > 1 and _all_compatible(stack):
            order_sets.append(stack)

    for delivery in [None, *deliveries]:
        for order_set in order_sets:
            others = (*order_set, *((delivery,) if delivery else ()))
            if delivery is not None and not all(_compatible(delivery, o) for o in order_set):
                continue
            signature = frozenset(o.signature for o in others)
            pool = pools.get(signature)
            if pool is None:
                pool = pools[signature] = [i for i in items if all(_compatible(i, o) for o in others)]
            multi = [i for i in pool if ITEM in i.combines_with]
            solos = [i for i in pool if ITEM not in i.combines_with]
            candidates = [pricer.evaluate(multi, order_set, delivery)]
            consider(candidates[0])
            # Order and delivery offers never save more than on the cart without item discounts, so
            # a solo item offer whose own saving plus that cannot reach the best so far is skipped.
            bare = pricer.evaluate((), order_set, delivery)
            for solo in solos:
                if pricer.items((solo,)).saving + bare.saving >= best.saving:
                    candidates.append(pricer.evaluate((solo,), order_set, delivery))
            needs_search = any(c.failed for c in candidates) or any(c.items.capped for c in candidates)
            if not needs_search and order_set:
                # a spend tier that a smaller item discount would keep
                needs_search = bare.saving > candidates[0].saving
            if needs_search:
                if len(pool) <= EXHAUSTIVE_ITEMS:
                    for n in range(len(pool) + 1):
                        for subset in combinations(pool, n):
                            if sum(1 for s in subset if ITEM not in s.combines_with) and len(subset) > 1:
                                continue
                            candidates.append(pricer.evaluate(subset, order_set, delivery))
                else:
                    candidates += _drop_search(pricer, multi, order_set, delivery)
            for candidate in candidates:
                consider(candidate)
    return best


def _undominated(pricer: _Pricer, deliveries: list[Offer]) -> list[Offer]:
    """Delivery offers that combine alike compete only on their saving and minimum spend: an offer
    that another saves at least as much as, with no higher minimum spend, can never win (the other
    wins the tie-breaks first on saving, and the rank order decides equal ones)."""
    fee = pricer.cart.delivery_fee
    groups: dict[frozenset[str], list[Offer]] = {}
    for offer in deliveries:
        groups.setdefault(offer.combines_with, []).append(offer)
    kept: list[Offer] = []
    for offers in groups.values():

        def saving(o: Offer) -> Decimal:
            amount = fee * min(o.percent, HUNDRED) / HUNDRED if o.percent is not None else fee
            return min(amount, o.cap) if o.cap is not None else amount

        lowest: Decimal | None = None
        for offer in sorted(offers, key=lambda o: (-saving(o), o.min_spend or ZERO, o.rank())):
            spend = offer.min_spend or ZERO
            if lowest is None or spend < lowest:  # the Pareto front of (saving, minimum spend)
                kept.append(offer)
                lowest = spend
    return sorted(kept, key=lambda o: (o.id, o.source))


def _drop_search(
    pricer: _Pricer, multi: list[Offer], order_set: tuple[Offer, ...], delivery: Offer | None
) -> list[_Evaluated]:
    """Beyond EXHAUSTIVE_ITEMS competing item offers: drop the item offer saving least, one at a
    time, while a threshold is broken."""
    full = pricer.evaluate(multi, order_set, delivery)
    savings: dict[str, Decimal] = {}
    for entries in full.items.per_line:
        for offer, amount, _ in entries:
            savings[offer.key] = savings.get(offer.key, ZERO) + amount
    ordered = sorted(multi, key=lambda o: (savings.get(o.key, ZERO), o.rank()))  # least saving first
    found = [full]
    drop = 1
    while drop < len(ordered):  # drop 1, 2, 4, 8... of the least saving ones
        result = pricer.evaluate(ordered[drop:], order_set, delivery)
        found.append(result)
        if not result.failed:
            break
        drop *= 2
    found.append(pricer.evaluate((), order_set, delivery))
    return found


def _quote(pricer: _Pricer, best: _Evaluated, cart: Cart, precision: int, rate: Decimal, inclusive: bool) -> Quote:
    lines: list[LinePrice] = []
    applied: list[dict] = []
    offer_totals: dict[str, Decimal] = {}
    item_discount = ZERO
    for i, line in enumerate(cart.lines):
        priced = LinePrice(
            variant_id=line.variant_id,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_total=pricer.totals[i],
        )
        for offer, amount, units in best.items.per_line[i]:
            priced.discount += amount
            item_discount += amount
            priced.discounts.append(
                {**_ref(offer), "level": ITEM, "amount": _fmt(amount), "reason": _item_reason(offer, units)}
            )
            offer_totals[offer.key] = offer_totals.get(offer.key, ZERO) + amount
        lines.append(priced)
    order_discount = ZERO
    order_discounts: list[dict] = []
    for offer, amount, shares in best.order:
        idx = [i for i, line in enumerate(cart.lines) if offer.covers(line)]
        for i, share in zip(idx, shares, strict=True):
            if share:
                lines[i].discount += share
                lines[i].discounts.append(
                    {**_ref(offer), "level": ORDER, "amount": _fmt(share), "reason": "share of an order discount"}
                )
        order_discount += amount
        offer_totals[offer.key] = amount
        order_discounts.append({**_ref(offer), "level": ORDER, "amount": _fmt(amount), "reason": _order_reason(offer)})
    for gift in best.gifts:
        price = gift.gift_price
        lines.append(
            LinePrice(
                variant_id=gift.gift_variant_id or 0,
                sku=gift.gift_sku,
                name=gift.gift_name,
                quantity=1,
                unit_price=price,
                line_total=price,
                discount=price,
                discounts=[{**_ref(gift), "level": ORDER, "amount": _fmt(price), "reason": "free gift", "gift": True}],
                gift=True,
            )
        )
        order_discount += price
        offer_totals[gift.key] = price
        order_discounts.append({**_ref(gift), "level": ORDER, "amount": _fmt(price), "reason": "free gift"})
    delivery_discount = ZERO
    if best.delivery is not None:
        offer, amount = best.delivery
        delivery_discount = amount
        offer_totals[offer.key] = amount
        order_discounts.append(
            {**_ref(offer), "level": DELIVERY, "amount": _fmt(amount), "reason": "delivery fee taken off"}
        )
    for offer in best.offers:
        reason = (
            _item_reason(offer, None)
            if offer.level == ITEM
            else ("delivery fee taken off" if offer.level == DELIVERY else _order_reason(offer))
        )
        applied.append(
            {**_ref(offer), "level": offer.level, "amount": _fmt(offer_totals[offer.key]), "reason": reason}
        )
    q = _q(precision)
    for line in lines:
        line.discount = line.discount.quantize(q)
    subtotal = sum((line.line_total for line in lines), ZERO)
    discount = sum((line.discount for line in lines), ZERO).quantize(q)
    item_discount, order_discount = item_discount.quantize(q), order_discount.quantize(q)
    delivery_discount = delivery_discount.quantize(q)
    delivery_fee = cart.delivery_fee - delivery_discount
    taxable = subtotal - discount
    if inclusive:
        tax = (taxable - taxable / (1 + rate)).quantize(_q(precision), rounding=ROUND_HALF_UP)
        total = taxable + delivery_fee
    else:
        tax = (taxable * rate).quantize(_q(precision), rounding=ROUND_HALF_UP)
        total = taxable + tax + delivery_fee
    return Quote(
        lines=lines,
        subtotal=subtotal,
        item_discount=item_discount,
        order_discount=order_discount,
        discount=discount,
        delivery_fee=delivery_fee,
        delivery_discount=delivery_discount,
        tax=tax,
        total=total,
        applied=applied,
        considered=[],
        order_discounts=order_discounts,
    )


def _ref(offer: Offer) -> dict:
    return {"offer": offer.key, "name": offer.name, "type": offer.type or offer.kind, "code": offer.code}


def _item_reason(offer: Offer, units: int | None) -> str:
    on = f" on {units} unit{'s' if units != 1 else ''}" if units is not None else ""
    if offer.kind == "percent":
        return f"{_pct(offer.percent)} off{on}"
    if offer.kind == "amount":
        return f"{_fmt(offer.amount or ZERO)} off each unit{on}"
    if offer.kind == "fixed_price":
        return f"fixed price {_fmt(offer.fixed_price or ZERO)} per unit{on}"
    if offer.kind == "volume":
        return f"volume price{on}"
    if offer.kind == "bxgy":
        got = "free" if offer.get_percent >= HUNDRED else f"{_pct(offer.get_percent)} off"
        return f"buy {offer.buy_quantity} get {offer.get_quantity} {got} (cheapest units){on}"
    return offer.kind


def _order_reason(offer: Offer) -> str:
    if offer.kind == "percent":
        return f"{_pct(offer.percent)} off the order after item discounts"
    if offer.kind == "amount":
        return f"{_fmt(offer.amount or ZERO)} off the order"
    if offer.kind == "fixed_price":
        return f"the order's items for {_fmt(offer.fixed_price or ZERO)}"
    if offer.kind == "volume":
        return "volume tier on the order"
    if offer.kind == "tiered_spend":
        return "highest spend step reached"
    if offer.kind == "free_gift":
        return "free gift"
    return offer.kind


def _why_lost(pricer: _Pricer, offer: Offer, best: _Evaluated, live: list[Offer]) -> str:
    if offer.exclusive:
        alone = pricer.evaluate(*_alone(offer))
        if offer.key in alone.failed:
            return alone.failed[offer.key]
        return f"exclusive: alone it saves {_fmt(alone.saving)}, the chosen prices save {_fmt(best.saving)}"
    for winner in best.offers:
        if winner.exclusive:
            return f"{winner.name} is exclusive and saves more"
    for winner in best.offers:
        if not _compatible(offer, winner):
            return f"does not combine with {winner.name}; the chosen prices save more"
    if offer.level == ITEM:
        return "another offer saves more on the same units (one item discount per unit)"
    alone = pricer.evaluate(*_alone(offer))
    if offer.key in alone.failed:
        return alone.failed[offer.key]
    with_items = pricer.evaluate(best.items.offers, (offer,) if offer.level == ORDER else (), None)
    if offer.key in with_items.failed:
        return with_items.failed[offer.key]
    if offer.level == DELIVERY:
        return "another delivery discount saves more (one delivery discount)"
    return "a combination without it saves more"


def _delivery(evaluated: _Evaluated) -> Offer | None:
    return evaluated.delivery[0] if evaluated.delivery else None


def _alone(offer: Offer) -> tuple:
    lvl = offer.level
    return ((offer,) if lvl == ITEM else (), (offer,) if lvl == ORDER else (), offer if lvl == DELIVERY else None)
