from django.urls import path

from apps.accounts.api import views

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
    path("me", views.MeView.as_view(), name="me"),
]
