"""The demo seeding: promotions and coupons of every type, and demo orders that used them."""

from django_tenants.utils import tenant_context

from apps.accounts.models import User, WholesaleAccount
from apps.orders.models import Order
from apps.promotions.demo import seed_promotions
from apps.promotions.models import Coupon, Promotion, Redemption
from apps.stock.demo import seed_catalog_and_stock


def test_demo_has_every_type_and_orders_that_used_them(tenant_a):
    with tenant_context(tenant_a):
        seed_catalog_and_stock()
        User.objects.create_user("retail@demo.test", "pw-Example-123", kind="retail")
        account = WholesaleAccount.objects.create(
            name="Deli",
            tax_id="1",
            billing_address="x",
            is_approved=True,
            credit_limit=5000,  # as seed_demo's
        )
        User.objects.create_user("buyer@demo.test", "pw-Example-123", kind="wholesale", wholesale_account=account)
        assert seed_promotions(retail_email="retail@demo.test", wholesale_email="buyer@demo.test")
        assert set(Promotion.objects.values_list("kind", flat=True)) >= set(Promotion.Kind.values) - {"free_delivery"}
        assert set(Coupon.objects.values_list("kind", flat=True)) == set(Coupon.Kind.values)
        assert Redemption.objects.count() >= 5
        assert Order.objects.filter(discount__gt=0).count() >= 5
        assert seed_promotions(retail_email="retail@demo.test", wholesale_email="buyer@demo.test") == 0
