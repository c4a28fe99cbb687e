"""Filters of the accounts lists: my sessions and the business's partner API keys.

Both lists page like the others (`page`, `page_size`, `ordering`, `search`); a filter value that
is not one of the documented ones answers 400 `validation_error` naming the parameter.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters import rest_framework as filters

from apps.accounts.models import ApiKey, AuthSession, UserKind
from apps.accounts.policy import API_KEY_SCOPES

SESSION_STATES = [
    ("active", "Active: signed in, not revoked, not expired (the default)"),
    ("revoked", "Revoked: signed out (by the user, a password change, token reuse or staff)"),
    ("expired", "Expired without being revoked"),
    ("all", "Every session"),
]
KEY_STATES = [
    ("active", "Active: not revoked, not expired"),
    ("revoked", "Revoked"),
    ("expired", "Expired without being revoked"),
]


def _by_state(queryset: QuerySet, state: str) -> QuerySet:
    now = timezone.now()
    not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    if state == "active":
        return queryset.filter(not_expired, revoked_at__isnull=True)
    if state == "revoked":
        return queryset.filter(revoked_at__isnull=False)
    if state == "expired":
        return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
    return queryset


class SessionFilter(filters.FilterSet):
    state = filters.ChoiceFilter(
        choices=SESSION_STATES, method="filter_state", help_text="active (default), revoked, expired or all."
    )
    session_type = filters.ChoiceFilter(choices=UserKind.choices, help_text="The kind of session.")
    created_from = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Signed in at or after (ISO 8601)."
    )
    created_to = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", help_text="Signed in before (ISO 8601)."
    )

    class Meta:
        model = AuthSession
        fields = ["state", "session_type", "created_from", "created_to"]

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_state(queryset, value)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if not self.form.cleaned_data.get("state"):
            queryset = _by_state(queryset, "active")  # what the list always answered
        return super().filter_queryset(queryset)


class ApiKeyFilter(filters.FilterSet):
    state = filters.ChoiceFilter(
        choices=KEY_STATES, method="filter_state", help_text="active, revoked or expired (default: every key)."
    )
    scope = filters.ChoiceFilter(
        choices=[(scope, scope) for scope in API_KEY_SCOPES],
        method="filter_scope",
        help_text="Keys granted this scope.",
    )
    created_from = filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_to = filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="Created before.")

    class Meta:
        model = ApiKey
        fields = ["state", "scope", "created_from", "created_to"]

    def filter_state(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return _by_state(queryset, value)

    def filter_scope(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(scopes__contains=[value])
