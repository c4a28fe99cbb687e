"""Promotions API: the cart quote for customers and staff; staff manage promotions, coupons and
codes, see usage and preview a sample cart."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.accounts.policy import Access, principal_of
from apps.catalog.models import Variant
from apps.core.api.views import get_or_404, paginated
from apps.core.errors import InvalidInput
from apps.promotions import selectors, services
from apps.promotions.api import serializers as s
from apps.promotions.models import Coupon, CouponCode, Promotion, Redemption

STAFF = Access(staff_roles=frozenset({"owner", "store_manager"}))
QUOTERS = Access(guest=True, retail=True, wholesale=True, staff_roles=frozenset({"owner", "store_manager"}))


def _caller(request: Request) -> str:
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user{user.pk}"
    return f"ip{request.META.get('REMOTE_ADDR', '')}"


def _quote_response(request: Request, data: dict, *, customer: object | None, channel: str) -> Response:
    raw = data["lines"]
    variants = {v.sku: v for v in Variant.objects.filter(sku__in={ln["sku"] for ln in raw}, is_archived=False)}
    unknown = {str(i): {"sku": ["Unknown SKU."]} for i, ln in enumerate(raw) if ln["sku"] not in variants}
    if unknown:
        raise InvalidInput("Some lines are not valid.", code="validation_error", details={"lines": unknown})
    priced = services.cart_price(
        lines=[(variants[ln["sku"]], ln["quantity"]) for ln in raw],
        customer=customer,
        channel=channel,
        fulfilment=data["fulfilment"],
        delivery_fee=data["delivery_fee"],
        codes=data["coupon_codes"],
        caller=_caller(request),
    )
    quote = priced.quote
    invalid = set(priced.invalid_codes)
    entered = {c["code"] for c in quote.considered if c["code"]}
    codes = [
        {"code": code, "valid": code not in invalid, "message": "not valid" if code in invalid else "valid"}
        for code in dict.fromkeys([*entered, *invalid])
    ]
    body = {
        "currency": getattr(getattr(request, "tenant", None), "currency", "USD"),
        "lines": [{**vars(ln), "total": ln.total} for ln in quote.lines],
        **{k: getattr(quote, k) for k in ("subtotal", "item_discount", "order_discount", "discount")},
        **{k: getattr(quote, k) for k in ("delivery_fee", "delivery_discount", "tax", "total")},
        "applied": quote.applied,
        "considered": quote.considered,
        "codes": codes,
    }
    return Response(s.CartQuoteSerializer(body).data)


class CartQuoteView(GenericAPIView):
    access_policy = QUOTERS
    serializer_class = s.CartQuoteInputSerializer

    @extend_schema(
        operation_id="cart_quote",
        summary="Price a cart",
        description="The cart priced exactly as an order would be (the caller's prices, live promotions, "
        "the coupon codes entered), with every discount applied and every offer considered with why it "
        "lost or did not apply. Holds no stock. A wrong code is only 'not valid'; too many wrong codes "
        "answer 429 `coupon_attempts_exceeded`.",
        request=s.CartQuoteInputSerializer,
        responses=s.CartQuoteSerializer,
        tags=["promotions"],
    )
    def post(self, request: Request) -> Response:
        data = s.CartQuoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = principal_of(request)
        customer = request.user if principal.kind in {"guest", "retail", "wholesale"} else None
        channel = "wholesale" if principal.kind == "wholesale" else "retail"
        return _quote_response(request, data.validated_data, customer=customer, channel=channel)


class PreviewView(GenericAPIView):
    access_policy = STAFF
    serializer_class = s.PreviewInputSerializer

    @extend_schema(
        operation_id="promotions_preview",
        summary="Preview a sample cart",
        description="Staff: price chosen products for a chosen customer (or nobody) on a channel, with the "
        "explanation, as the customer would see it.",
        request=s.PreviewInputSerializer,
        responses=s.CartQuoteSerializer,
        tags=["promotions"],
    )
    def post(self, request: Request) -> Response:
        data = s.PreviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = None
        if data.validated_data["customer_id"]:
            customer = get_or_404(
                User.objects.exclude(kind="staff"), "No such customer.", pk=data.validated_data["customer_id"]
            )
        channel = data.validated_data["channel"]
        return _quote_response(request, data.validated_data, customer=customer, channel=channel)


def _offer_views(model: type, serializer: type, name: str, selector: object) -> tuple[type, type, type, type]:
    label = model._meta.verbose_name

    class ListView(GenericAPIView):
        list_view = True
        queryset = model.objects.none()  # the schema's filter and path parameter types
        access_policy = STAFF
        serializer_class = serializer
        ordering_fields = ["id", "priority", "created_at"]
        ordering = ["-id"]

        @extend_schema(operation_id=f"{name}s_list", summary=f"{label.title()}s", tags=["promotions"])
        def get(self, request: Request) -> Response:
            return paginated(self, selector(), serializer)

        @extend_schema(
            operation_id=f"{name}s_create",
            summary=f"Create a {label}",
            description="Times without an offset are read in the tenant's time zone.",
            request=serializer,
            responses={201: serializer},
            tags=["promotions"],
        )
        def post(self, request: Request) -> Response:
            data = serializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields, scopes = data.split()
            offer = services.offer_save(instance=model(), fields=fields, scopes=scopes)
            return Response(serializer(selector().get(pk=offer.pk)).data, status=status.HTTP_201_CREATED)

    class DetailView(GenericAPIView):
        access_policy = STAFF
        serializer_class = serializer

        @extend_schema(operation_id=f"{name}s_get", summary=f"A {label}", tags=["promotions"])
        def get(self, request: Request, **kwargs: int) -> Response:
            return Response(serializer(get_or_404(selector(), f"No such {label}.", pk=kwargs[f"{name}_id"])).data)

        @extend_schema(
            operation_id=f"{name}s_update",
            summary=f"Change a {label} (schedule, scope, rules)",
            request=serializer,
            responses=serializer,
            tags=["promotions"],
        )
        def patch(self, request: Request, **kwargs: int) -> Response:
            offer = get_or_404(selector(), f"No such {label}.", pk=kwargs[f"{name}_id"])
            data = serializer(offer, data=request.data, partial=True)
            data.is_valid(raise_exception=True)
            fields, scopes = data.split()
            services.offer_save(instance=offer, fields=fields, scopes=scopes)
            return Response(serializer(selector().get(pk=offer.pk)).data)

    class CloneView(GenericAPIView):
        access_policy = STAFF
        serializer_class = serializer

        @extend_schema(
            operation_id=f"{name}s_clone",
            summary=f"Clone a {label}",
            description="A paused copy with the same rules and scope (codes and uses are not copied).",
            request=None,
            responses={201: serializer},
            tags=["promotions"],
        )
        def post(self, request: Request, **kwargs: int) -> Response:
            offer = get_or_404(selector(), f"No such {label}.", pk=kwargs[f"{name}_id"])
            copy = services.offer_clone(instance=offer)
            return Response(serializer(selector().get(pk=copy.pk)).data, status=status.HTTP_201_CREATED)

    class PauseView(GenericAPIView):
        access_policy = STAFF
        serializer_class = s.OfferPauseSerializer

        @extend_schema(
            operation_id=f"{name}s_pause",
            summary=f"Pause or resume a {label}",
            request=s.OfferPauseSerializer,
            responses=serializer,
            tags=["promotions"],
        )
        def post(self, request: Request, **kwargs: int) -> Response:
            offer = get_or_404(selector(), f"No such {label}.", pk=kwargs[f"{name}_id"])
            data = s.OfferPauseSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.offer_pause(instance=offer, active=data.validated_data["active"])
            return Response(serializer(selector().get(pk=offer.pk)).data)

    for view in (ListView, DetailView, CloneView, PauseView):
        view.__name__ = view.__qualname__ = f"{model.__name__}{view.__name__}"
    return ListView, DetailView, CloneView, PauseView


PromotionListView, PromotionDetailView, PromotionCloneView, PromotionPauseView = _offer_views(
    Promotion, s.PromotionSerializer, "promotion", selectors.promotion_list
)
CouponListView, CouponDetailView, CouponCloneView, CouponPauseView = _offer_views(
    Coupon, s.CouponSerializer, "coupon", selectors.coupon_list
)


class CouponCodesView(GenericAPIView):
    list_view = True
    queryset = CouponCode.objects.none()  # the schema's filter and path parameter types
    access_policy = STAFF
    serializer_class = s.CouponCodeSerializer
    ordering = ["code"]

    @extend_schema(operation_id="coupon_codes_list", summary="A coupon's codes", tags=["promotions"])
    def get(self, request: Request, coupon_id: int) -> Response:
        coupon = get_or_404(Coupon.objects.all(), "No such coupon.", pk=coupon_id)
        return paginated(self, coupon.codes.all(), s.CouponCodeSerializer)

    @extend_schema(
        operation_id="coupon_codes_create",
        summary="Generate codes (bulk, unique) or add one code",
        description="`count` random unique codes (single-use when the coupon says so), optionally after a "
        "prefix; or one chosen `code`. Codes are case-insensitive (stored upper-case).",
        request=s.CodesCreateSerializer,
        responses={201: s.CouponCodeSerializer(many=True)},
        tags=["promotions"],
    )
    def post(self, request: Request, coupon_id: int) -> Response:
        coupon = get_or_404(Coupon.objects.all(), "No such coupon.", pk=coupon_id)
        data = s.CodesCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "code" in data.validated_data:
            made = [
                services.coupon_code_create(
                    coupon=coupon, code=data.validated_data["code"], max_uses=data.validated_data["max_uses"]
                )
            ]
        else:
            made = services.coupon_codes_generate(
                coupon=coupon, count=data.validated_data["count"], prefix=data.validated_data["prefix"]
            )
        return Response(s.CouponCodeSerializer(made, many=True).data, status=status.HTTP_201_CREATED)


class CouponCodesCsvView(GenericAPIView):
    access_policy = STAFF

    @extend_schema(
        operation_id="coupon_codes_export",
        summary="Export a coupon's codes as CSV",
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=["promotions"],
    )
    def get(self, request: Request, coupon_id: int) -> HttpResponse:
        coupon = get_or_404(Coupon.objects.all(), "No such coupon.", pk=coupon_id)
        response = HttpResponse(services.coupon_codes_csv(coupon=coupon), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="coupon-{coupon.pk}-codes.csv"'
        return response


class CouponUsageView(GenericAPIView):
    access_policy = STAFF
    serializer_class = s.CouponUsageSerializer

    @extend_schema(
        operation_id="coupon_usage",
        summary="A coupon's usage",
        description="Uses counted, redemptions (given back ones apart), discount given, codes used, customers.",
        responses=s.CouponUsageSerializer,
        tags=["promotions"],
    )
    def get(self, request: Request, coupon_id: int) -> Response:
        coupon = get_or_404(Coupon.objects.all(), "No such coupon.", pk=coupon_id)
        return Response(s.CouponUsageSerializer(selectors.coupon_usage(coupon=coupon)).data)


class CouponRedemptionsView(GenericAPIView):
    list_view = True
    queryset = Redemption.objects.none()  # the schema's filter and path parameter types
    access_policy = STAFF
    serializer_class = s.RedemptionSerializer
    ordering = ["-created_at"]

    @extend_schema(operation_id="coupon_redemptions_list", summary="A coupon's redemptions", tags=["promotions"])
    def get(self, request: Request, coupon_id: int) -> Response:
        coupon = get_or_404(Coupon.objects.all(), "No such coupon.", pk=coupon_id)
        return paginated(self, selectors.redemption_list(coupon=coupon), s.RedemptionSerializer)
