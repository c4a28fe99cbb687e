"""The demo tenant's loyalty data: every tier, a streak that used its grace, achievements, a chain."""

from apps.loyalty.demo import seed_loyalty
from apps.loyalty.models import Account, Achievement, Referral
from tests import factories as f
from tests.loyalty.conftest import assert_invariant


def test_the_demo_has_every_tier_a_graced_streak_achievements_and_a_referral_chain(programme):
    for _ in range(4):
        f.variant(price="13.99")
    assert seed_loyalty() == 4
    assert seed_loyalty() == 0  # once
    tiers = dict(Account.objects.values_list("user__email", "tier"))
    assert set(tiers.values()) == {"scoops", "silver", "gold", "diamond"}
    sam = Account.objects.get(user__email="silver@demo.localhost")
    assert sam.streak_current >= 6 and sam.streak_grace_available is False
    assert Achievement.objects.filter(category="weekly_streak").exists()
    diana = Account.objects.get(user__email="diamond@demo.localhost")
    assert Achievement.objects.filter(account=diana, category="referral_chain", level="2").exists()
    assert Referral.objects.filter(referrer=diana, status="rewarded").count() == 1
    for account in Account.objects.all():
        assert_invariant(account)
