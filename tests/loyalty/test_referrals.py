"""Referrals: share tokens, the welcome and referrer rewards, chains, and every fraud rule."""

import datetime as dt

from django.utils import timezone

from apps.accounts import services as accounts
from apps.accounts.models import User
from apps.loyalty import services
from apps.loyalty.models import Account, Achievement, Referral
from tests.loyalty.conftest import account, assert_invariant, customer, order

NOW = timezone.now()


def _register(email, token, **extra):
    user, _ = accounts.retail_user_register(email=email, password="pw-Example-123x", referral_token=token, **extra)
    return user


def test_every_customer_has_one_long_url_safe_share_token_and_a_new_one_revokes_the_old(programme):
    acc = account()
    old = acc.share_token
    assert len(old) >= 43 and all(c.isalnum() or c in "-_" for c in old)  # 256 bits, base64url
    services.share_token_rotate(account=acc)
    assert acc.share_token != old
    friend = _register("friend@example.com", old)
    referral = Referral.objects.get(friend__user=friend)
    assert (referral.status, referral.refusal_reason) == ("refused", "unknown_token")


def test_a_friend_registering_with_the_token_is_linked_and_welcomed(programme):
    referrer = account(customer("rita@example.com"))
    friend = _register("fred@example.com", referrer.share_token)
    referral = Referral.objects.get(friend__user=friend)
    assert referral.referrer == referrer and referral.status == "pending"
    friend_acc = Account.objects.get(user=friend)
    assert friend_acc.balance == programme.referral_welcome_points
    assert_invariant(friend_acc)


def test_the_referrer_is_rewarded_once_the_friends_first_order_is_past_its_return_window(programme):
    referrer = account(customer("rita@example.com"))
    friend = _register("fred@example.com", referrer.share_token)
    order(friend, "20.00", paid_at=NOW - dt.timedelta(days=20))
    assert services.step_referrals(NOW) == 0  # inside the window
    order(friend, "30.00", paid_at=NOW - dt.timedelta(days=5))
    assert services.step_referrals(NOW + dt.timedelta(days=11)) == 1
    referral = Referral.objects.get(friend__user=friend)
    assert referral.status == "rewarded"
    referrer.refresh_from_db()
    assert referrer.balance == programme.referral_reward_points + 50  # + the referrer achievement's level 1
    assert Achievement.objects.filter(account=referrer, category="referrer", level="1").exists()
    assert services.step_referrals(NOW + dt.timedelta(days=12)) == 0  # once
    assert_invariant(referrer)


def test_only_the_friends_first_order_counts_a_refunded_first_order_refuses_the_reward(programme):
    referrer = account(customer("rita@example.com"))
    friend = _register("fred@example.com", referrer.share_token)
    order(friend, "20.00", status="refunded", paid_at=NOW - dt.timedelta(days=40))
    order(friend, "20.00", paid_at=NOW - dt.timedelta(days=35))
    services.step_referrals(NOW)
    referral = Referral.objects.get(friend__user=friend)
    assert (referral.status, referral.refusal_reason) == ("refused", "first_order_not_kept")
    referrer.refresh_from_db()
    assert referrer.balance == 0


def test_self_referral_by_the_same_normalised_email_is_refused(programme):
    referrer = account(customer("Rita.Smith@gmail.com"))
    friend = _register("ritasmith+second@googlemail.com", referrer.share_token)
    referral = Referral.objects.get(friend__user=friend)
    assert (referral.status, referral.refusal_reason) == ("refused", "self_referral")
    assert Account.objects.get(user=friend).balance == 0  # no welcome either


def test_self_referral_by_the_same_phone_is_refused(programme):
    referrer = account(customer("rita@example.com", phone="+1 (312) 555-0199"))
    friend = _register("other@example.com", referrer.share_token, phone="312.555.0199")
    assert Referral.objects.get(friend__user=friend).refusal_reason == "self_referral"


def test_self_referral_by_the_same_delivery_address_is_refused_at_the_first_order(programme):
    referrer = account(customer("rita@example.com"))
    order(referrer.user, "10.00", delivery_address="12 Elm Street, Springfield")
    friend = _register("fred@example.com", referrer.share_token)
    order(friend, "20.00", paid_at=NOW - dt.timedelta(days=40), delivery_address="12 elm street springfield")
    services.step_referrals(NOW)
    referral = Referral.objects.get(friend__user=friend)
    assert (referral.status, referral.refusal_reason) == ("refused", "self_referral")


def test_the_monthly_cap_per_referrer_refuses_further_referrals(programme):
    programme.referral_monthly_cap = 2
    programme.save()
    referrer = account(customer("rita@example.com"))
    users = [_register(f"friend{n}@example.com", referrer.share_token) for n in range(3)]
    statuses = [Referral.objects.get(friend__user=u).status for u in users]
    assert statuses == ["pending", "pending", "refused"]
    assert Referral.objects.get(friend__user=users[2]).refusal_reason == "monthly_cap"


def test_a_friend_who_is_already_a_customer_cannot_be_referred(programme):
    referrer = account(customer("rita@example.com"))
    guest, _ = accounts.guest_start(device_id="d1")
    order(guest, "20.00", paid_at=NOW - dt.timedelta(days=3))
    user, _ = accounts.guest_upgrade(
        user=guest, email="gus@example.com", password="pw-Example-123x", referral_token=referrer.share_token
    )
    referral = Referral.objects.get(friend__user=user)
    assert (referral.status, referral.refusal_reason) == ("refused", "already_customer")


def test_a_guest_upgrading_gets_an_account_and_its_earlier_paid_orders_earn(programme):
    guest, _ = accounts.guest_start(device_id="d2")
    order(guest, "20.00", paid_at=NOW - dt.timedelta(days=40))
    order(guest, "15.00", status="cancelled", paid_at=NOW - dt.timedelta(days=40))
    user, _ = accounts.guest_upgrade(user=guest, email="gus@example.com", password="pw-Example-123x")
    acc = Account.objects.get(user=user)
    assert acc.pending == 20
    services.step_approve(NOW)
    acc.refresh_from_db()
    assert acc.balance == 20


def test_a_chain_is_recorded_to_any_depth_and_earns_the_chain_achievement_not_points_per_level(programme):
    a = account(customer("a@example.com"))
    b_user = _register("b@example.com", a.share_token)
    b = Account.objects.get(user=b_user)
    c_user = _register("c@example.com", b.share_token)
    c = Account.objects.get(user=c_user)
    _register("d@example.com", c.share_token)
    levels = set(Achievement.objects.filter(account=a, category="referral_chain").values_list("level", flat=True))
    assert levels == {"2", "3"}
    assert set(Achievement.objects.filter(account=b, category="referral_chain").values_list("level", flat=True)) == {
        "2"
    }
    # Points rewards only for direct referrals: A has none until B's first order passes its window.
    assert not Referral.objects.filter(referrer=a, status="rewarded").exists()
    assert User.objects.filter(email="d@example.com").exists()
