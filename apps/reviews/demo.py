"""Demo reviews for the demo tenant (called by `manage.py seed_demo`, once): reviews of demo
products and of the north store in every state (published, held, rejected, held by reports, with
a merchant reply, with a photo, edited), written by demo customers who picked up completed orders,
all through the review services (screening decides, as in real life)."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile

from apps.accounts.models import User, UserKind
from apps.catalog.models import Variant
from apps.orders.services import LineRequest, order_place, order_transition
from apps.reviews import services
from apps.reviews.models import Review
from apps.stock.models import Location, StockItem

REVIEWERS = [  # e-mail, name
    ("ana@demo.localhost", "Ana Alvarez"),
    ("ben@demo.localhost", "Ben Brooks"),
    ("cleo@demo.localhost", "Cleo Chen"),
    ("dev@demo.localhost", "Dev Patel"),
    ("eve@demo.localhost", "Eve Evans"),
]
REVIEWER_PASSWORD = "demo-reviewer-2026"  # noqa: S105 - printed demo login, not a secret


def _photo() -> SimpleUploadedFile:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 600), (250, 190, 60))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 100, 550, 500), fill=(200, 40, 20))
    draw.rectangle((360, 40, 440, 120), fill=(40, 120, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG")
    return SimpleUploadedFile("demo.jpg", out.getvalue(), content_type="image/jpeg")


def _completed_pickup(customer: User, store: Location, variants: list[Variant]) -> None:
    order = order_place(
        customer=customer,
        channel="retail",
        fulfilment="pickup",
        location=store,
        lines=[LineRequest(variant, 1) for variant in variants],
    )
    for step in ("paid", "preparing", "ready", "completed"):
        order = order_transition(order=order, to=step, reason="demo")


def seed_reviews(*, retail_email: str, owner_email: str) -> int:
    """Create the demo reviews; 0 if there already are reviews."""
    if Review.objects.exists():
        return 0
    store = Location.objects.get(code="north")
    stocked = (
        StockItem.objects.filter(location=store, on_hand__gte=8)
        .select_related("variant__product")
        .order_by("variant__sku")
    )
    variants, seen = [], set()
    for item in stocked:
        if item.variant.product_id not in seen:
            seen.add(item.variant.product_id)
            variants.append(item.variant)
        if len(variants) == 2:
            break
    first, second = (variant.product for variant in variants)
    owner = User.objects.get(email=owner_email)
    people = []
    for email, name in REVIEWERS:
        user = User.objects.filter(email=email).first() or User.objects.create_user(
            email, REVIEWER_PASSWORD, kind=UserKind.RETAIL, full_name=name
        )
        _completed_pickup(user, store, variants)
        people.append(user)
    ana, ben, cleo, dev, eve = people
    rita = User.objects.get(email=retail_email)
    _completed_pickup(rita, store, variants[:1])

    def review(customer: User, rating: int, title: str, body: str, **subject: object) -> Review:
        return services.review_create(customer=customer, rating=rating, title=title, body=body, **subject)

    loved = review(ana, 5, "Perfect heat", "Fruity, bright and properly hot. Great on tacos.", product=first)
    services.review_photo_add(review=loved, upload=_photo())
    services.review_reply_set(review=loved, author=owner, body="Thank you, Ana! Try it on grilled pineapple too.")
    for fan in (ben, eve):
        services.review_vote_helpful(review=loved, customer=fan)
    edited = review(ben, 4, "Good", "Good flavour, a little too sweet for me.", product=first)
    services.review_update(review=edited, rating=3, body="Good flavour, but too sweet for me after a week.")
    review(cleo, 5, "Wow", "This is the shit, seriously.", product=first)  # held: profanity
    review(dev, 5, "Deal", "Buy it cheaper at sauce-deals.com", product=second)  # rejected: link
    reported = review(eve, 2, "Meh", "Not my kind of sauce, too vinegary.", product=second)
    for reporter in (ana, ben, cleo):  # three reports hold it again (REVIEW_REPORTS_TO_HOLD)
        services.review_report(review=reported, reporter=reporter, reason="off_topic")
    store_review = review(rita, 5, "Lovely store", "Friendly staff and my order was ready on time.", location=store)
    services.review_reply_set(review=store_review, author=owner, body="Thanks for picking up with us, Rita!")
    review(ana, 4, "Quick pickup", "In and out in two minutes; parking is tight though.", location=store)
    return Review.objects.count()
