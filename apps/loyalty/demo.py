"""Demo loyalty data for the demo tenant (called by `manage.py seed_demo`, once): a customer in
each tier, a weekly streak that used its grace, achievements, and a referral chain
(Diana -> Gary -> Sam)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User, UserKind
from apps.catalog.models import Product, Variant
from apps.loyalty import services
from apps.loyalty.models import Account, Campaign
from apps.orders.models import Order, OrderLine

PASSWORD = "demo-retail-2026"  # noqa: S105 (local demo data only, printed by seed_demo)
MEMBERS = [  # email, name, tier aimed at, net spend of their older (approved) orders
    ("diamond@demo.localhost", "Diana Diamond", 16_500),
    ("gold@demo.localhost", "Gary Gold", 5_400),
    ("silver@demo.localhost", "Sam Silver", 1_150),
    ("scoops@demo.localhost", "Sky Scoops", 120),
]


def _order(user: User, variants: list[Variant], amount: Decimal, paid_at: dt.datetime, n: int) -> Order:
    """A completed demo order (its lines are the demo catalog's; stock is not touched)."""
    variant = variants[n % len(variants)]
    quantity = max(1, int(amount // variant.price))
    line_total = variant.price * quantity
    order = Order.objects.create(
        number=f"DL-{user.pk:03d}-{n:03d}",
        customer=user,
        channel="retail",
        fulfilment="pickup",
        status="completed",
        currency="USD",
        subtotal=line_total,
        total=line_total,
        paid_at=paid_at,
        completed_at=paid_at + dt.timedelta(hours=2),
    )
    OrderLine.objects.create(
        order=order,
        variant=variant,
        sku=variant.sku,
        name=str(variant),
        quantity=quantity,
        unit_price=variant.price,
        line_total=line_total,
    )
    services.points_earn_for_order(order=order)
    return order


@transaction.atomic  # the nightly steps lock the accounts table and share a temp table: one transaction
def seed_loyalty() -> int:
    """Returns the accounts created (0 if already seeded)."""
    if User.objects.filter(email=MEMBERS[0][0]).exists():
        return 0
    now = timezone.now()
    variants = list(Variant.objects.filter(is_archived=False).order_by("sku")[:12])
    if not variants:
        return 0
    users, token = [], ""
    for email, name, _ in MEMBERS:
        user = User.objects.create_user(email, PASSWORD, kind=UserKind.RETAIL, full_name=name)
        services.customer_registered(user=user, referral_token=token if email != MEMBERS[3][0] else "")
        token = Account.objects.get(user=user).share_token  # the next one is referred by this one
        users.append(user)
    for user, (_, _, spend) in zip(users, MEMBERS, strict=True):
        remaining, n = Decimal(spend), 0
        while remaining > 0:  # older orders, past their return window: approved tonight
            amount = min(remaining, Decimal("900"))
            _order(user, variants, amount, now - dt.timedelta(days=45 + 3 * n), n)
            remaining -= amount
            n += 1
        # Sam keeps a weekly streak: the last six weeks but one (week -3 missed: the grace was used).
        if user.email.startswith("silver"):
            for week in (6, 5, 4, 2, 1, 0):
                _order(user, variants, Decimal("12"), now - dt.timedelta(weeks=week, hours=1), 100 + week)
    services.step_approve(now)
    services.tiers_upgrade(
        t=now, account_ids=list(Account.objects.filter(user__in=users).values_list("id", flat=True))
    )
    services.step_referrals(now)
    first = Product.objects.order_by("id").first()
    if first is not None and not Campaign.objects.exists():
        campaign = Campaign.objects.create(
            name="Summer heat",
            slug="summer-heat",
            starts_on=(now - dt.timedelta(days=60)).date(),
            ends_on=(now + dt.timedelta(days=30)).date(),
            points=150,
        )
        campaign.products.add(first)
    for account in Account.objects.filter(user__in=users):
        services.customer_evaluate(account=account, now=now)
    return len(users)
