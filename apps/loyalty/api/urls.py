from django.urls import path

from apps.loyalty.api import views

urlpatterns = [
    path("loyalty/account", views.MyAccountView.as_view(), name="loyalty-account"),
    path("loyalty/ledger", views.MyLedgerView.as_view(), name="loyalty-ledger"),
    path("loyalty/achievements", views.MyAchievementsView.as_view(), name="loyalty-achievements"),
    path("loyalty/streak", views.MyStreakView.as_view(), name="loyalty-streak"),
    path("loyalty/referral-link", views.MyReferralLinkView.as_view(), name="loyalty-referral-link"),
    path("loyalty/referral-link/rotate", views.MyReferralLinkRotateView.as_view(), name="loyalty-referral-rotate"),
    path("loyalty/referrals", views.MyReferralsView.as_view(), name="loyalty-referrals"),
    path("loyalty/redeem-quote", views.RedeemQuoteView.as_view(), name="loyalty-redeem-quote"),
    path("loyalty/accounts", views.StaffAccountListView.as_view(), name="loyalty-accounts"),
    path("loyalty/accounts/<int:account_id>", views.StaffAccountDetailView.as_view(), name="loyalty-account-detail"),
    path(
        "loyalty/accounts/<int:account_id>/ledger",
        views.StaffAccountLedgerView.as_view(),
        name="loyalty-account-ledger",
    ),
    path(
        "loyalty/accounts/<int:account_id>/adjustments",
        views.StaffAdjustmentView.as_view(),
        name="loyalty-account-adjust",
    ),
]
