"""Loyalty admin: the programme form, an account with its ledger inline, and a manual adjustment
made through the service (recorded with its reason and actor)."""

from django.test import Client
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.loyalty import services
from apps.loyalty.models import LedgerEntry
from tests.conftest import TENANT_A
from tests.loyalty.conftest import customer


def test_the_loyalty_admin_pages_render_and_an_adjustment_goes_through_the_service(tenant_a):
    with tenant_context(tenant_a):
        owner = User.objects.create_superuser("owner@loyalty.test", "pw-Owner-Long-1")
        acc = services.account_ensure(user=customer())
        services.points_adjust(account=acc, points=40, reason="first")
        settings_row = services.programme()
        first_entry = LedgerEntry.objects.get(account=acc)
    client = Client(HTTP_HOST=TENANT_A.domain)
    with tenant_context(tenant_a):
        client.force_login(owner)
    for path in [
        "/admin/loyalty/programmesettings/",
        f"/admin/loyalty/programmesettings/{settings_row.pk}/change/",
        "/admin/loyalty/account/",
        f"/admin/loyalty/account/{acc.pk}/change/",
        "/admin/loyalty/achievement/",
        "/admin/loyalty/referral/",
        "/admin/loyalty/campaign/add/",
        "/admin/loyalty/nightlyrun/",
    ]:
        assert client.get(path).status_code == 200, path
    page = client.get(f"/admin/loyalty/account/{acc.pk}/change/")
    assert b"first" in page.content  # the ledger inline
    response = client.post(
        f"/admin/loyalty/account/{acc.pk}/change/",
        {
            "adjust_points": "-15",
            "adjust_reason": "duplicate",
            "entries-TOTAL_FORMS": "1",
            "entries-INITIAL_FORMS": "1",
            "entries-MIN_NUM_FORMS": "0",
            "entries-MAX_NUM_FORMS": "1000",
            "entries-0-id": str(first_entry.pk),
            "entries-0-account": str(acc.pk),
        },
    )
    assert response.status_code in {200, 302}
    with tenant_context(tenant_a):
        acc.refresh_from_db()
        assert acc.balance == 25
        entry = LedgerEntry.objects.get(account=acc, reason="duplicate")
        assert entry.points == -15 and entry.created_by  # the admin user, through the audit actor
