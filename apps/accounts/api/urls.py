from django.urls import path

from apps.accounts.api import credit_views, views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/sign-in", views.SignInView.as_view(), name="auth-sign-in"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/guest", views.GuestStartView.as_view(), name="auth-guest"),
    path("auth/guest/upgrade", views.GuestUpgradeView.as_view(), name="auth-guest-upgrade"),
    path("auth/sign-out", views.SignOutView.as_view(), name="auth-sign-out"),
    path("auth/sign-out-everywhere", views.SignOutEverywhereView.as_view(), name="auth-sign-out-everywhere"),
    path("auth/sessions", views.SessionListView.as_view(), name="auth-sessions"),
    path("auth/sessions/<str:session_id>", views.SessionDetailView.as_view(), name="auth-session"),
    path("auth/password/change", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("me", views.MeView.as_view(), name="me"),
    path("me/export", views.MeExportView.as_view(), name="me-export"),
    path("me/delete", views.MeDeleteView.as_view(), name="me-delete"),
    path("wholesale/apply", views.WholesaleApplyView.as_view(), name="wholesale-apply"),
    path("wholesale/account", views.WholesaleAccountView.as_view(), name="wholesale-account"),
    path("wholesale/account/credit", credit_views.MyCreditView.as_view(), name="wholesale-credit"),
    path(
        "wholesale/accounts/<int:account_id>/credit",
        credit_views.AccountCreditView.as_view(),
        name="wholesale-account-credit",
    ),
    path("api-keys", views.ApiKeyListView.as_view(), name="api-keys"),
    path("api-keys/current", views.ApiKeyCurrentView.as_view(), name="api-key-current"),
    path("api-keys/<int:key_id>", views.ApiKeyDetailView.as_view(), name="api-key"),
    path(
        "customers/<int:user_id>/sessions/revoke",
        views.CustomerSessionsRevokeView.as_view(),
        name="customer-sessions-revoke",
    ),
]
