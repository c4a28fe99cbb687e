"""StaticFieldsMixin: the output serializers' fields are built once per class, the output is DRF's."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django_tenants.utils import tenant_context
from rest_framework import serializers

from apps.core.api.serializers import StaticFieldsMixin
from tests.conftest import make_staff


class PlainGroup(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


class PlainUser(serializers.ModelSerializer):
    groups = PlainGroup(many=True)
    first_group = serializers.CharField(source="groups.first.name", default=None)
    when = serializers.DateTimeField(source="date_joined")
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, source="pk")

    class Meta:
        model = Group.user_set.rel.related_model
        fields = ["id", "email", "is_staff", "groups", "first_group", "when", "amount", "last_login"]


class FastGroup(StaticFieldsMixin, PlainGroup):
    pass


class FastUser(StaticFieldsMixin, PlainUser):
    groups = FastGroup(many=True)


def test_the_output_equals_drfs_for_every_field_kind(tenant_a):
    with tenant_context(tenant_a):
        user = make_staff(tenant_a, "static@example.com")
        user.date_joined = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
        user.last_login = None
        for _ in range(2):  # the second time through the cached prototype
            assert FastUser(user).data == PlainUser(user).data
        assert FastUser([user, user], many=True).data == PlainUser([user, user], many=True).data
        data = FastUser(user).data
    assert data["groups"] and data["last_login"] is None and data["amount"] == f"{Decimal(user.pk):.2f}"


def test_a_field_that_needs_the_context_is_refused():
    class NeedsContext(StaticFieldsMixin, serializers.ModelSerializer):
        who = serializers.SerializerMethodField()

        class Meta:
            model = Group
            fields = ["id", "who"]

        def get_who(self, obj):
            return self.context["request"].user.pk

    with pytest.raises(TypeError, match="needs the context"):
        _ = NeedsContext(Group(id=1, name="x")).data
