"""Test-only endpoints, mounted in front of the tenant URLs by the test settings.

They exercise the API conventions (errors, idempotency, audit) independently of any domain app
and are excluded from the OpenAPI schema.
"""

from django.contrib.auth.models import Group
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListCreateAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsApprovedWholesaleBuyer
from apps.accounts.policy import ALL_STAFF, PUBLIC, Access, PolicyPermission
from apps.core.errors import Conflict
from config.urls_tenant import urlpatterns as tenant_urlpatterns

STAFF = Access(staff_roles=ALL_STAFF)


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = Group
        fields = ["id", "name"]


@extend_schema(exclude=True)
class GroupsView(ListCreateAPIView):
    access_policy = STAFF
    serializer_class = GroupSerializer
    queryset = Group.objects.order_by("id")
    search_fields = ["name"]
    ordering_fields = ["name", "id"]


@extend_schema(exclude=True)
class SlowGroupCreateView(APIView):
    """Creates a group slowly, so concurrent duplicates overlap."""

    access_policy = STAFF

    def post(self, request: Request) -> Response:
        import time

        serializer = GroupSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        time.sleep(0.2)
        serializer.save()
        return Response(serializer.data, status=201)


@extend_schema(exclude=True)
class BoomView(APIView):
    access_policy = PUBLIC

    def post(self, request: Request) -> Response:
        Group.objects.create(name="created-before-crash")
        raise RuntimeError("secret internal detail")

    get = post


@extend_schema(exclude=True)
class ConflictView(APIView):
    access_policy = STAFF

    def post(self, request: Request) -> Response:
        raise Conflict("Order already shipped.", code="order_already_shipped", details={"id": 7})


@extend_schema(exclude=True)
class WholesaleOrderGateView(APIView):
    """Stands in for order placement (orders come later) to show the wholesale approval gate."""

    access_policy = Access(wholesale=True)
    permission_classes = [PolicyPermission, IsApprovedWholesaleBuyer]

    def post(self, request: Request) -> Response:
        return Response({"ok": True}, status=201)


urlpatterns = [
    path("api/v1/_test/wholesale-order", WholesaleOrderGateView.as_view()),
    path("api/v1/_test/groups", GroupsView.as_view()),
    path("api/v1/_test/slow-groups", SlowGroupCreateView.as_view()),
    path("api/v1/_test/boom", BoomView.as_view()),
    path("api/v1/_test/conflict", ConflictView.as_view()),
    *tenant_urlpatterns,
]

handler400 = "apps.core.views.error_400"
handler403 = "apps.core.views.error_403"
handler404 = "apps.core.views.error_404"
handler500 = "apps.core.views.error_500"
