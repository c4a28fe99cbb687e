from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.policy import PUBLIC
from apps.tenants.api.serializers import TenantProfileSerializer


class TenantProfileView(APIView):
    access_policy = PUBLIC

    @extend_schema(
        operation_id="tenant_profile",
        summary="The business this hostname belongs to",
        description="Name, plan, currency (with its precision) and time zone of the current "
        "tenant. Public: apps read it before signing in to format prices and dates. "
        "`require_if_match`: staff and partner edits must send `If-Match` (428 without it).",
        responses=TenantProfileSerializer,
        tags=["tenant"],
    )
    def get(self, request: Request) -> Response:
        return Response(TenantProfileSerializer(request._request.tenant).data)
