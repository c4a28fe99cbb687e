"""Variant gallery API: everybody sees a live variant's pictures, catalog editors change them."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.policy import OWNERS, PUBLIC, principal_of
from apps.catalog import gallery, selectors
from apps.catalog.api import serializers as s
from apps.catalog.models import Variant, VariantImage
from apps.core.api.views import get_or_404
from apps.core.errors import InvalidInput, NotFound

CATALOG_EDITORS = OWNERS  # the same callers as every other catalog write (apps.catalog.api.views)


def _variant(request: Request, sku: str) -> Variant:
    """The variant the caller may see: customers only live ones, staff archived ones too."""
    variant = selectors.variant_get_by_sku(sku=sku, include_archived=principal_of(request).kind == "staff")
    if variant is None:
        raise NotFound("No such SKU.")
    return variant


def _image(request: Request, sku: str, image_id: int) -> VariantImage:
    variant = _variant(request, sku)
    images = selectors.variant_images(variant=variant).select_related("variant")
    return get_or_404(images, "No such image.", pk=image_id)


def _gallery_body(variant: Variant) -> list:
    return s.VariantImageSerializer(selectors.variant_images(variant=variant), many=True).data


class VariantImagesView(GenericAPIView):
    queryset = VariantImage.objects.none()  # types the path parameters in the schema
    access_policy = {"GET": PUBLIC, "POST": CATALOG_EDITORS}
    parser_classes = [MultiPartParser]
    serializer_class = s.VariantImageSerializer

    @extend_schema(
        operation_id="variants_images_list",
        summary="A variant's gallery",
        description="Every picture of the variant in gallery order, each with its WebP renditions "
        "(`original` up to 2400 px, `full` 1200, `card` 480, `thumb` 160 px on the longest side). "
        "Archived variants are found by staff only.",
        responses=s.VariantImageSerializer(many=True),
        tags=["catalog"],
    )
    def get(self, request: Request, sku: str) -> Response:
        return Response(_gallery_body(_variant(request, sku)))

    @extend_schema(
        operation_id="variants_images_upload",
        summary="Add a picture to a variant's gallery",
        description="Owners only. Multipart: `image` (JPEG, PNG or WebP by content, at most 5 MB and 6000 px "
        "a side), optional `alt_text` and `is_primary`. The picture is re-encoded as WebP renditions "
        "without metadata (EXIF, GPS) and turned upright; it goes at the end of the gallery, and the "
        "first picture becomes the primary. 400 `image_invalid` with `details.reason` (`too_large`, "
        "`type`, `too_many_pixels`, `unreadable`); 409 `gallery_full` at 20 pictures.",
        request={"multipart/form-data": s.VariantImageUploadSerializer},
        responses={201: s.VariantImageSerializer},
        tags=["catalog"],
    )
    def post(self, request: Request, sku: str) -> Response:
        variant = _variant(request, sku)
        upload = request.FILES.get("image")
        if upload is None:
            raise InvalidInput(
                "Attach the picture as `image`.", code="validation_error", details={"image": ["Required."]}
            )
        fields = s.VariantImageUpdateSerializer(data=request.data)
        fields.is_valid(raise_exception=True)
        image = gallery.variant_image_add(
            variant=variant,
            upload=upload,
            alt_text=fields.validated_data.get("alt_text", ""),
            is_primary=fields.validated_data.get("is_primary", False),
        )
        return Response(s.VariantImageSerializer(image).data, status=status.HTTP_201_CREATED)


class VariantImageOrderView(GenericAPIView):
    queryset = VariantImage.objects.none()  # types the path parameters in the schema
    access_policy = CATALOG_EDITORS
    serializer_class = s.VariantImageOrderSerializer

    @extend_schema(
        operation_id="variants_images_reorder",
        summary="Reorder a variant's gallery",
        description="Owners only. `ids` lists every picture of the variant once, in the new order; "
        "anything else answers 400 `validation_error` under `details.ids` and changes nothing. "
        "Answers the gallery in its new order.",
        request=s.VariantImageOrderSerializer,
        responses=s.VariantImageSerializer(many=True),
        tags=["catalog"],
    )
    def put(self, request: Request, sku: str) -> Response:
        variant = _variant(request, sku)
        data = s.VariantImageOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ordered = gallery.variant_images_reorder(variant=variant, image_ids=data.validated_data["ids"])
        return Response(s.VariantImageSerializer(ordered, many=True).data)


class VariantImageView(GenericAPIView):
    queryset = VariantImage.objects.none()  # types the path parameters in the schema
    access_policy = CATALOG_EDITORS
    serializer_class = s.VariantImageUpdateSerializer

    @extend_schema(
        operation_id="variants_images_update",
        summary="Edit a gallery picture",
        description="Owners only. `alt_text`; `is_primary: true` makes it the primary and unsets the old "
        "one. The primary cannot be unset (`is_primary: false` on it is 400): make another one primary.",
        request=s.VariantImageUpdateSerializer,
        responses=s.VariantImageSerializer,
        tags=["catalog"],
    )
    def patch(self, request: Request, sku: str, image_id: int) -> Response:
        image = _image(request, sku, image_id)
        data = s.VariantImageUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        image = gallery.variant_image_update(
            image=image,
            alt_text=data.validated_data.get("alt_text"),
            is_primary=data.validated_data.get("is_primary"),
        )
        return Response(s.VariantImageSerializer(image).data)

    @extend_schema(
        operation_id="variants_images_delete",
        summary="Remove a gallery picture",
        description="Owners only. Removing the primary makes the next picture (by position) the primary; "
        "files no other picture uses are deleted.",
        request=None,
        responses={204: None},
        tags=["catalog"],
    )
    def delete(self, request: Request, sku: str, image_id: int) -> Response:
        gallery.variant_image_delete(image=_image(request, sku, image_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
