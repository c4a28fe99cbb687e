"""The demo tenant's reviews: every state, through the real services, once."""

from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.accounts.models import User, UserKind, WholesaleAccount
from apps.orders.demo import seed_orders
from apps.reviews.demo import seed_reviews
from apps.reviews.models import Review, ReviewAggregate
from apps.reviews.selectors import aggregate_recount_values
from apps.stock.demo import seed_catalog_and_stock


def test_the_demo_has_reviews_in_every_state(tenant_a, media_root):
    with tenant_context(tenant_a):
        User.objects.create_user("retail@demo.test", "pw-Example-123", kind=UserKind.RETAIL, full_name="Rita Retail")
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
        User.objects.create_superuser("owner@demo.test", "pw-Example-123")
        assert seed_catalog_and_stock()
        seed_orders(retail_email="retail@demo.test", wholesale_email="buyer@demo.test")

        count = seed_reviews(retail_email="retail@demo.test", owner_email="owner@demo.test")

        assert count == Review.objects.count() == 7
        statuses = set(Review.objects.values_list("status", flat=True))
        assert statuses == {"published", "held", "rejected"}
        assert Review.objects.filter(status="held", open_report_count__gte=3).exists()  # held by reports
        assert Review.objects.filter(status="held", report_count=0).exists()  # held by screening
        assert Review.objects.filter(reply__isnull=False).count() == 2
        assert Review.objects.filter(photo_count=1, status="published").exists()
        assert Review.objects.filter(revisions__isnull=False).exists()
        assert Review.objects.filter(location__code="north", status="published").count() == 2
        assert all(r.verified_purchase for r in Review.objects.all())
        for row in ReviewAggregate.objects.all():
            values = aggregate_recount_values(product_id=row.product_id, location_id=row.location_id)
            assert {name: getattr(row, name) for name in values} == values
        assert seed_reviews(retail_email="retail@demo.test", owner_email="owner@demo.test") == 0
