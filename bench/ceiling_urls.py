"""URLs of the ceiling server (bench.ceiling): one DRF ModelSerializer read of one row."""

from django.http import HttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenants.models import Tenant


class TenantRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = "__all__"


class OneRowView(APIView):
    def get(self, request, pk: int) -> Response:
        return Response(TenantRowSerializer(Tenant.objects.get(pk=pk)).data)


urlpatterns = [
    path("ceiling/<int:pk>", OneRowView.as_view()),
    path("health/live", lambda request: HttpResponse("ok")),
]
