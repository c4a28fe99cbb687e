"""Writes: pricing a cart (the one entry point orders, the quote API and the admin preview use),
counting and giving back coupon uses, generating and issuing codes, cloning offers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.catalog.models import Variant
from apps.core.errors import InvalidInput
from apps.promotions import codes as code_rules
from apps.promotions import selectors
from apps.promotions.errors import CouponNotApplicable, CouponNotValid, CouponUsedUp
from apps.promotions.models import Coupon, CouponCode, OfferBase, Redemption
from apps.promotions.pricing import Quote, price_cart

ZERO = Decimal("0")
MAX_CODES_PER_BATCH = 10_000


@dataclass(frozen=True)
class PricedCart:
    quote: Quote
    invalid_codes: list[str]
    codes: dict[str, int]  # offer key of each applied coupon -> its CouponCode id
    variants: dict[int, Variant]

    def raise_for_codes(self) -> None:
        """Placing an order with a code entered: a wrong code is 'not valid'; a used-up one is
        said so (409); a code that cannot apply (minimum spend, window, first order...) answers why.
        A code that only lost to a better combination does not stop the order."""
        if self.invalid_codes:
            raise CouponNotValid(details={"coupon_codes": self.invalid_codes})
        for entry in self.quote.considered:
            if entry["code"] and entry["status"] == "not_applicable":
                if entry["reason"] in {"no uses left", "already used the allowed number of times"}:
                    raise CouponUsedUp(details={"code": entry["code"]})
                raise CouponNotApplicable(
                    f"The code {entry['code']} does not apply: {entry['reason']}.",
                    details={"code": entry["code"], "reason": entry["reason"]},
                )


def _tenant() -> object:
    return getattr(connection, "tenant", None)


def tenant_tz() -> ZoneInfo:
    return ZoneInfo(getattr(_tenant(), "timezone", None) or "UTC")


def cart_price(
    *,
    lines: Sequence[tuple[Variant, int]],
    customer: object | None,
    channel: str,
    fulfilment: str = "pickup",
    delivery_fee: Decimal = ZERO,
    codes: Sequence[str] = (),
    caller: str | None = None,
    now: dt.datetime | None = None,
    redeemed_by_order: Iterable[int] = (),
) -> PricedCart:
    """Load the inputs (constant queries) and run the pure pricing function. Holds nothing."""
    tenant = _tenant()
    precision = getattr(tenant, "currency_precision", 2)
    now = now or timezone.now()
    inputs = selectors.pricing_inputs(
        lines=lines,
        customer=customer,
        channel=channel,
        fulfilment=fulfilment,
        delivery_fee=delivery_fee,
        codes=codes,
        now=now,
        precision=precision,
        caller=caller,
        redeemed_by_order=redeemed_by_order,
    )
    quote = price_cart(
        inputs.cart,
        inputs.offers,
        now=now,
        precision=precision,
        tax_rate=Decimal(getattr(tenant, "tax_rate", 0) or 0),
        prices_include_tax=bool(getattr(tenant, "prices_include_tax", False)),
    )
    applied = {a["offer"] for a in quote.applied}
    code_ids = {o.key: o.code_id for o in inputs.offers if o.source == "coupon" and o.key in applied and o.code_id}
    return PricedCart(quote=quote, invalid_codes=inputs.invalid_codes, codes=code_ids, variants=inputs.variants)


# --- redemption, inside the order's transaction -----------------------------------------------


def _customer_use_take(coupon: Coupon, customer_id: int) -> bool:
    """One upsert: the customer's use row is created or incremented while under the limit."""
    if coupon.per_customer_limit is None:
        return True
    table = _use_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (coupon_id, customer_id, uses) VALUES (%s, %s, 1)
                ON CONFLICT (coupon_id, customer_id) DO UPDATE SET uses = {table}.uses + 1
                WHERE {table}.uses < %s RETURNING uses""",
            [coupon.pk, customer_id, coupon.per_customer_limit],
        )
        return cursor.fetchone() is not None and coupon.per_customer_limit >= 1


def _use_table() -> str:
    from apps.promotions.models import CouponCustomerUse

    return connection.ops.quote_name(CouponCustomerUse._meta.db_table)


@transaction.atomic
def redemptions_record(*, order: object, priced: PricedCart, customer: object | None) -> list[Redemption]:
    """Count each applied coupon's use for `order`: conditional UPDATEs on the coupon's and the
    code's remaining uses and one upsert of the customer's uses. A code used up meanwhile (a race
    for the last use) raises CouponUsedUp and the whole order rolls back."""
    made = []
    customer_id = getattr(customer, "pk", None)
    amounts = {a["offer"]: Decimal(a["amount"]) for a in priced.quote.applied}
    for key, code_id in sorted(priced.codes.items(), key=lambda kv: kv[1]):
        coupon_id = int(key.split(":")[1])
        took = Coupon.objects.filter(Q(usage_limit__isnull=True) | Q(uses__lt=F("usage_limit")), pk=coupon_id).update(
            uses=F("uses") + 1
        )
        took = took and CouponCode.objects.filter(
            Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")), pk=code_id
        ).update(uses=F("uses") + 1)
        coupon = Coupon.objects.get(pk=coupon_id)
        if took and customer_id is not None:
            took = _customer_use_take(coupon, customer_id)
        if not took:
            raise CouponUsedUp(details={"code": CouponCode.objects.get(pk=code_id).code})
        made.append(
            Redemption(coupon=coupon, code_id=code_id, order=order, customer_id=customer_id, amount=amounts[key])
        )
    return Redemption.objects.bulk_create(made)


@transaction.atomic
def redemptions_release(*, order: object, coupon_ids: Iterable[int] | None = None) -> int:
    """Give the uses of `order`'s coupons back (an unpaid order cancelled, or a coupon that no
    longer applies after a line change)."""
    from apps.promotions.models import CouponCustomerUse

    live = Redemption.objects.select_for_update().filter(order=order, released_at__isnull=True)
    if coupon_ids is not None:
        live = live.filter(coupon_id__in=list(coupon_ids))
    released = 0
    for redemption in live.order_by("id"):
        Coupon.objects.filter(pk=redemption.coupon_id, uses__gt=0).update(uses=F("uses") - 1)
        CouponCode.objects.filter(pk=redemption.code_id, uses__gt=0).update(uses=F("uses") - 1)
        if redemption.customer_id:
            CouponCustomerUse.objects.filter(
                coupon_id=redemption.coupon_id, customer_id=redemption.customer_id, uses__gt=0
            ).update(uses=F("uses") - 1)
        redemption.released_at = timezone.now()
        redemption.save(update_fields=["released_at"])
        released += 1
    return released


def redeemed_coupons(*, order: object) -> dict[int, str]:
    """Coupon id -> code of the uses `order` holds (repricing keeps them)."""
    return dict(
        Redemption.objects.filter(order=order, released_at__isnull=True).values_list("coupon_id", "code__code")
    )


# --- staff: offers, codes ---------------------------------------------------------------------


@transaction.atomic
def offer_save(*, instance: OfferBase, fields: dict, scopes: dict | None = None) -> OfferBase:
    """Create or update a promotion or coupon: validated (full_clean) then saved with its scope."""
    for name, value in fields.items():
        setattr(instance, name, value)
    instance.full_clean(exclude=["categories", "products", "variants"])
    instance.save()
    for name, values in (scopes or {}).items():
        getattr(instance, name).set(values)
    return instance


@transaction.atomic
def offer_clone(*, instance: OfferBase) -> OfferBase:
    """A paused copy ("(copy)"), with the same scope; codes and uses are not copied."""
    model = type(instance)
    scopes = {name: list(getattr(instance, name).all()) for name in ("categories", "products", "variants")}
    copy = model.objects.get(pk=instance.pk)
    copy.pk = copy.id = None
    copy.name = f"{instance.name[:113]} (copy)"
    copy.is_active = False
    if isinstance(copy, Coupon):
        copy.uses = 0
    copy._state.adding = True
    copy.save()
    for name, values in scopes.items():
        getattr(copy, name).set(values)
    return copy


def offer_pause(*, instance: OfferBase, active: bool) -> OfferBase:
    type(instance).objects.filter(pk=instance.pk).update(is_active=active, updated_at=timezone.now())
    instance.is_active = active
    return instance


@transaction.atomic
def coupon_code_create(*, coupon: Coupon, code: str, max_uses: int | None = None) -> CouponCode:
    normalised = code_rules.normalise(code)
    if len(normalised) < 4 or any(ch not in code_rules.ALPHABET + "0123456789LIO-_" for ch in normalised):
        raise InvalidInput(
            "A code is 4 to 40 letters, digits, '-' or '_'.", code="validation_error", details={"code": ["Invalid."]}
        )
    try:
        with transaction.atomic():
            return CouponCode.objects.create(
                coupon=coupon, code=normalised, max_uses=1 if coupon.single_use_codes else max_uses
            )
    except IntegrityError as exc:
        raise InvalidInput("This code exists already.", code="code_taken", details={"code": ["Taken."]}) from exc


@transaction.atomic
def coupon_codes_generate(*, coupon: Coupon, count: int, prefix: str = "", length: int = 10) -> list[CouponCode]:
    """`count` unique random codes (single-use when the coupon says so); collisions are retried."""
    if not 1 <= count <= MAX_CODES_PER_BATCH:
        raise InvalidInput(f"Between 1 and {MAX_CODES_PER_BATCH} codes at a time.", code="validation_error")
    made: list[CouponCode] = []
    max_uses = 1 if coupon.single_use_codes else None
    for _round in range(10):
        wanted = count - len(made)
        if wanted <= 0:
            break
        candidates = list({code_rules.generate(prefix, length) for _ in range(wanted)})
        taken = set(CouponCode.objects.filter(code__in=candidates).values_list("code", flat=True))
        fresh = [CouponCode(coupon=coupon, code=c, max_uses=max_uses) for c in candidates if c not in taken]
        made += CouponCode.objects.bulk_create(fresh)
    return made


def coupon_codes_csv(*, coupon: Coupon) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "max_uses", "uses", "customer", "valid_from", "valid_until"])
    for code in coupon.codes.select_related("customer").order_by("code").iterator():
        writer.writerow(
            [
                code.code,
                code.max_uses or "",
                code.uses,
                code.customer.email if code.customer else "",
                code.valid_from.isoformat() if code.valid_from else "",
                code.valid_until.isoformat() if code.valid_until else "",
            ]
        )
    return out.getvalue()


# --- issued coupons: birthday, win-back, referral ---------------------------------------------


def _issue(coupon: Coupon, customer: object, key: str, start: dt.datetime, end: dt.datetime) -> CouponCode | None:
    """One code of `coupon` for `customer` under `key` (once: the unique key makes it idempotent)."""
    try:
        with transaction.atomic():
            return CouponCode.objects.create(
                coupon=coupon,
                customer=customer,
                issue_key=key,
                code=code_rules.generate(coupon.kind[:4].upper(), 8),
                valid_from=start,
                valid_until=end,
                max_uses=1,
            )
    except IntegrityError:
        return None


def _local_midnight(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def birthday_coupons_issue(*, today: dt.date | None = None) -> int:
    """Issue each live birthday coupon to customers whose birthday falls within its window ahead
    (`window_days`), once a year; the code is valid from `window_days` before the birthday to
    `window_days` after it, midnight to midnight in the tenant's time zone."""
    from apps.accounts.models import User

    tz = tenant_tz()
    today = today or timezone.now().astimezone(tz).date()
    issued = 0
    coupons = Coupon.objects.filter(kind=Coupon.Kind.BIRTHDAY, is_active=True)
    for coupon in coupons:
        days = [today + dt.timedelta(days=n) for n in range(coupon.window_days + 1)]
        month_days = Q()
        for day in days:
            month_days |= Q(birthday__month=day.month, birthday__day=day.day)
        for user in User.objects.filter(month_days, is_active=True).exclude(kind="staff").order_by("id"):
            birthday = next(d for d in days if (d.month, d.day) == (user.birthday.month, user.birthday.day))
            start = _local_midnight(birthday - dt.timedelta(days=coupon.window_days), tz)
            end = _local_midnight(birthday + dt.timedelta(days=coupon.window_days + 1), tz)
            if _issue(coupon, user, f"birthday:{birthday.year}", start, end) is not None:
                issued += 1
    return issued


def winback_coupons_issue(*, now: dt.datetime | None = None) -> int:
    """Issue each live win-back coupon to customers whose last order is older than its
    `inactive_days` (once per lapse: keyed by that last order)."""
    from django.db.models import Max

    from apps.accounts.models import User

    now = now or timezone.now()
    issued = 0
    for coupon in Coupon.objects.filter(kind=Coupon.Kind.WIN_BACK, is_active=True):
        cutoff = now - dt.timedelta(days=coupon.inactive_days)
        lapsed = (
            User.objects.filter(is_active=True)
            .exclude(kind="staff")
            .annotate(last=Max("orders__placed_at"))
            .filter(last__lt=cutoff)
            .order_by("id")
        )
        for user in lapsed:
            key = f"winback:{user.last:%Y%m%d%H%M%S}"
            if _issue(coupon, user, key, now, now + dt.timedelta(days=coupon.valid_days)) is not None:
                issued += 1
    return issued


@transaction.atomic
def referral_coupons_issue(*, friend: object, referrer: object) -> dict[str, CouponCode | None]:
    """For the loyalty engine: the friend's welcome code and the referrer's reward code, from the
    live referral coupons (role friend / referrer); once per friend. Returns {"friend", "referrer"}."""
    now = timezone.now()
    result: dict[str, CouponCode | None] = {"friend": None, "referrer": None}
    for role, user in (("friend", friend), ("referrer", referrer)):
        coupon = (
            Coupon.objects.filter(kind=Coupon.Kind.REFERRAL, referral_role=role, is_active=True)
            .order_by("-priority", "id")
            .first()
        )
        if coupon is not None:
            key = f"referral:{friend.pk}"
            result[role] = _issue(coupon, user, key, now, now + dt.timedelta(days=coupon.valid_days))
    return result
